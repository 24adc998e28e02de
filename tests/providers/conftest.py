"""Fixtures for provider tests: the fake LLM server on 127.0.0.1 and a clean provider environment."""

from __future__ import annotations

from typing import Iterator

import pytest

from byllm.providers.clients import clear_clients
from fake_server import FakeLLMServer

PROVIDER_ENVIRONMENT = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_AUTH_TOKEN",
    "OLLAMA_BASE_URL",
    "LITELLM_BASE_URL",
    "BYLLM_RETRIES",
)


@pytest.fixture(autouse=True)
def clean_provider_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No real keys or base URLs leak into tests (and no Anthropic profile on disk is read)."""
    for name in PROVIDER_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path_factory.mktemp("anthropic-config")))


@pytest.fixture
def fake_server() -> Iterator[FakeLLMServer]:
    """A started fake OpenAI-compatible / Anthropic server; stopped (and clients dropped) afterwards."""
    server = FakeLLMServer().start()
    try:
        yield server
    finally:
        server.stop()
        clear_clients()
