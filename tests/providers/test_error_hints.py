"""Errors a user can fix say what to do: unknown model names, servers not running, LiteLLM offline, unpriced cost."""

from __future__ import annotations

import errno
import socket

import pytest

from byllm.errors import ProviderError
from byllm.lib import Model, by
from byllm.providers.hints import connection_failure, server_hint, with_connection_hint


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def echo_function(model: Model):  # type: ignore[no-untyped-def]
    @by(model)
    def echo(text: str) -> str: ...

    return echo


# -- a server that is not running ---------------------------------------------------------------
def test_ollama_not_running_names_the_url_and_how_to_start_it(monkeypatch: pytest.MonkeyPatch) -> None:
    url = closed_port_url()
    monkeypatch.setenv("OLLAMA_BASE_URL", url)
    with pytest.raises(ProviderError) as raised:
        echo_function(Model("ollama/llama3.2", max_retries=0))("hi")
    message = str(raised.value)
    assert f"ollama: cannot connect to {url} (connection refused)" in message
    assert "`ollama serve`" in message and "OLLAMA_BASE_URL" in message and "base_url=" in message


@pytest.mark.parametrize(("prefix", "command", "variable"), [
    ("vllm", "vllm serve", "VLLM_BASE_URL"),
    ("llamacpp", "llama-server", "LLAMACPP_BASE_URL"),
    ("lmstudio", "LM Studio", "LMSTUDIO_BASE_URL"),
])
def test_every_local_preset_says_how_to_start_its_server(prefix: str, command: str, variable: str) -> None:
    url = closed_port_url()
    with pytest.raises(ProviderError) as raised:
        echo_function(Model(f"{prefix}/some-model", base_url=url, max_retries=0))("hi")
    message = str(raised.value)
    assert url in message and command in message and variable in message


def test_a_custom_local_server_not_running_says_to_start_it_or_fix_base_url() -> None:
    url = closed_port_url()
    with pytest.raises(ProviderError) as raised:
        echo_function(Model("my-model", base_url=url, max_retries=0))("hi")
    assert str(raised.value).startswith(f"openai-compatible: cannot connect to {url} (connection refused): ")
    assert "fix base_url=" in str(raised.value)


def test_the_hint_survives_the_retries_and_reports_the_attempts() -> None:
    url = closed_port_url()
    with pytest.raises(ProviderError) as raised:
        echo_function(Model("ollama/llama3.2", base_url=url, max_retries=1, retry_backoff=0.01))("hi")
    assert "`ollama serve`" in str(raised.value)
    assert raised.value.attempts == 2


def test_any_clients_refused_connection_is_recognised_through_its_causes() -> None:
    class ClientConnectorError(Exception):  # shaped like aiohttp's: the OS error is its cause
        pass

    refused = ClientConnectorError("Cannot connect to host localhost:11434")
    refused.__cause__ = OSError(errno.ECONNREFUSED, "Connect call failed")
    assert connection_failure(refused) == "connection refused"
    assert connection_failure(ValueError("bad argument")) is None
    mapped = with_connection_hint(ProviderError("ollama: connection failed", provider="ollama"), refused,
                                  "ollama", "http://localhost:11434/v1")
    assert str(mapped) == (
        "ollama: cannot connect to http://localhost:11434/v1 (connection refused): is the ollama server running? "
        "start it with `ollama serve` (and `ollama pull <model>` once), or point byllm at it with OLLAMA_BASE_URL "
        "or Model(..., base_url=...)"
    )


def test_http_errors_and_other_failures_keep_their_message() -> None:
    http_error = ProviderError("ollama error (HTTP 500): boom", provider="ollama", status=500)
    assert str(with_connection_hint(http_error, ConnectionRefusedError(), "ollama", None)) == (
        "ollama error (HTTP 500): boom")
    other = ProviderError("ollama: odd", provider="ollama")
    assert str(with_connection_hint(other, ValueError("odd"), "ollama", None)) == "ollama: odd"


def test_credentials_in_the_url_are_masked_in_the_hint() -> None:
    mapped = with_connection_hint(ProviderError("x"), ConnectionRefusedError(), "openai-compatible",
                                  "http://user:sk-secret-123456@127.0.0.1:9/v1")
    assert "sk-secret-123456" not in str(mapped)
    assert "start it, or fix base_url=" in server_hint("openai-compatible", "http://localhost:9/v1")
