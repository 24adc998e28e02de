"""docs/parameters.md names every option Model and by llm() accept, and its example runs."""

from __future__ import annotations

import re
from pathlib import Path

from byllm.llm import CALL_OPTIONS, PROVIDER_SETTINGS

DOC = Path(__file__).resolve().parents[2] / "docs" / "parameters.md"


def documented_names() -> set[str]:
    names: set[str] = set()
    for line in DOC.read_text().splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return names


def test_every_option_is_documented_and_nothing_else() -> None:
    expected = {*PROVIDER_SETTINGS, *CALL_OPTIONS, "model_name", "config"}
    assert documented_names() == expected


def test_the_parameters_example_runs() -> None:
    (block,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    exec(compile(block, str(DOC), "exec"), {})
