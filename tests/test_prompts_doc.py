"""docs/prompts.md shows exactly the messages byllm sends for the bench's functions."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_prompts_page_matches_what_byllm_sends() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import prompt_functions
    finally:
        sys.path.remove(str(ROOT / "bench"))
    shown = re.findall(r"```text\n\[(system|user)\]\n(.*?)\n```", (ROOT / "docs" / "prompts.md").read_text(), re.DOTALL)
    sent = [(message["role"], message["content"]) for messages in prompt_functions.prompts().values() for message in messages]
    assert shown == sent


def test_each_prompt_carries_the_functions_meaning() -> None:
    text = (ROOT / "docs" / "prompts.md").read_text()
    for piece in ("famous_scientist(field: str) -> Person", "a field of science", "year of birth",
                  "prefers time alone", "draws energy from others", "A student and the marks of their exams",
                  '"marks": [80, 91, 77]', "[City, ...]"):
        assert piece in text, piece
