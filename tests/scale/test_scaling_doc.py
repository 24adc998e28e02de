"""docs/scaling.md runs as written: its module, its Python blocks as one program, its config and shell blocks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from fake_server import FakeBatchServer, RecordedRequest, Scripted, openai_text

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"
_REVIEW = re.compile(r'- review = "([^"]*)"')


def sentiment_responder(request: RecordedRequest) -> Scripted:
    """Reviews mentioning love or great are positive; the others negative."""
    review = _REVIEW.search(request.body["messages"][1]["content"]).group(1).lower()
    return openai_text("positive" if "love" in review or "great" in review else "negative")


def test_every_block_of_the_scaling_guide_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```(\w+)\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    assert {language for language, _ in blocks} == {"python", "toml", "bash"}
    program: list[str] = []
    for language, code in blocks:
        first_line = code.splitlines()[0]
        if language == "python" and re.fullmatch(r"# \w+\.py", first_line):
            (tmp_path / first_line[2:]).write_text(code)  # a module the workers import
        elif language == "python":
            program.append(code)
    (tmp_path / "guide.py").write_text("\n\n".join(program))
    server = FakeBatchServer(responder=sentiment_responder).start()
    environment = {**os.environ, "OPENAI_BASE_URL": server.openai_url, "OPENAI_API_KEY": "sk-scaling-guide",
                   "XDG_DATA_HOME": str(tmp_path / "data"), "PYTHONPATH": str(tmp_path)}
    for name in [name for name in environment if name.startswith("BYLLM_")]:
        del environment[name]
    try:
        # Run as `python -c`, as in a notebook: the guide's process pools and clusters spawn workers, and a
        # script would need multiprocessing's `if __name__ == "__main__":` guard around them.
        ran = subprocess.run([sys.executable, "-c", (tmp_path / "guide.py").read_text()], cwd=tmp_path, env=environment, capture_output=True,
                             text=True, timeout=600)
        assert ran.returncode == 0, ran.stderr[-4000:]
        assert re.fullmatch(r"batch_\d+ in_progress\n", ran.stdout)
        for language, code in blocks:
            if language == "bash":
                shell = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=tmp_path, capture_output=True,
                                       text=True, timeout=120, env={**environment, "PATH": os.pathsep.join(
                                           [str(Path(sys.executable).parent), environment["PATH"]])})
                assert shell.returncode == 0, shell.stderr
                assert '"value": "positive"' in shell.stdout
    finally:
        server.stop()


def test_the_guide_configuration_block_is_what_byllm_reads(tmp_path: Path) -> None:
    from byllm.settings import load_settings

    (toml,) = [code for language, code in re.findall(r"```(\w+)\n(.*?)```", GUIDE.read_text(), re.DOTALL)
               if language == "toml"]
    (tmp_path / "jac.toml").write_text(toml)
    settings = load_settings(environ={}, start=tmp_path)
    assert (settings.rate_limit, settings.rate_limit_rpm, settings.rate_limit_tpm) == (
        "redis://localhost:6379/0", 600.0, 150000.0)
