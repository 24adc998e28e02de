"""examples/provider-plugin, installed into a fresh virtual environment, serves ``acme/...`` models."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path
from typing import Iterator

import pytest

from fake_server import FakeLLMServer, openai_json, openai_text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "provider-plugin"
ACME_KEY = "acme-key-0123456789"

PROGRAM = textwrap.dedent(
    """
    from dataclasses import dataclass

    from byllm.lib import Model, by
    from jaclang.runtimelib.machine import plugin_manager

    @dataclass
    class Summary:
        title: str
        words: int

    llm = Model("acme/house-model-7b")

    @by(llm)
    def summarize(text: str) -> Summary:
        \"\"\"Summarize the text.\"\"\"

    @by(llm)
    def greet(name: str) -> str:
        \"\"\"Greet someone.\"\"\"

    print(summarize("a long report"))
    print(greet("Ada"))
    print(plugin_manager.plugin_sources["acme-gateway"])
    """
)


def _venv_python(root: Path) -> Path:
    return root / ("Scripts" if os.name == "nt" else "bin") / "python"


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A new venv that sees this interpreter's packages (jaclang, byllm) and has the example installed."""
    root = tmp_path_factory.mktemp("plugin-venv")
    # No pip inside: this interpreter's pip installs into the new venv (``pip --python``), which is
    # offline and much faster than bootstrapping pip.
    venv.EnvBuilder(with_pip=False).create(root)
    python = _venv_python(root)
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    # `import site; site.addsitedir(...)` (not a bare path) so the parent's own .pth
    # files, such as the editable install of this project, are processed too.
    parent = sysconfig.get_paths()["purelib"]
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path_factory.mktemp("plugin-source") / "provider-plugin"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    Path(site_packages, "parent_environment.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--disable-pip-version-check", "--no-index", str(source)],
        check=True, capture_output=True, text=True,
    )
    yield python


def run_program(python: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "ANTHROPIC_", "ACME_"))}
    env.update(environment)
    return subprocess.run([str(python), "-c", PROGRAM], capture_output=True, text=True, env=env, timeout=120)


def test_installed_plugin_serves_its_prefix(plugin_venv: Path, fake_server: FakeLLMServer) -> None:
    fake_server.script(openai_json({"title": "Report", "words": 3}), openai_text("Hello Ada"))
    result = run_program(plugin_venv, ACME_GATEWAY_URL=fake_server.openai_url, ACME_API_KEY=ACME_KEY,
                         ACME_TEAM="search")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == ["Summary(title='Report', words=3)", "Hello Ada", "('byllm-acme-gateway', '0.1.0')"]
    first = fake_server.requests[0]
    assert first.body["model"] == "house-model-7b"
    assert first.headers["x-acme-team"] == "search"
    assert first.headers["authorization"] == f"Bearer {ACME_KEY}"
    assert first.body["response_format"]["json_schema"]["name"] == "summarize"


def test_plugin_reports_missing_gateway_configuration(plugin_venv: Path) -> None:
    result = run_program(plugin_venv)
    assert result.returncode == 1
    assert "set ACME_GATEWAY_URL" in result.stderr


def test_disabled_plugin_leaves_the_prefix_unserved(plugin_venv: Path, fake_server: FakeLLMServer) -> None:
    result = run_program(plugin_venv, ACME_GATEWAY_URL=fake_server.openai_url, ACME_API_KEY=ACME_KEY,
                         JAC_DISABLED_PLUGINS="acme-gateway")
    assert result.returncode == 1
    assert "no provider serves the model 'acme/house-model-7b'" in result.stderr
    assert fake_server.requests == []


def test_example_is_not_installed_in_the_test_environment() -> None:
    # The test venv must stay clean: the example is only ever installed into the temporary venv.
    probe = "import importlib.util; print(importlib.util.find_spec('acme_gateway') is None)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "True"
