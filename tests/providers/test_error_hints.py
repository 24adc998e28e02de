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


# -- unknown model names ------------------------------------------------------------------------
def test_a_misspelt_model_name_fails_when_the_model_is_created_with_a_did_you_mean() -> None:
    from byllm.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"no provider serves the model 'gpt4o': did you mean 'gpt-4o'\?"):
        Model("gpt4o")
    with pytest.raises(ConfigurationError, match=r"did you mean 'ollama/llama3.2'\?"):
        Model("olama/llama3.2")
    with pytest.raises(ConfigurationError, match=r"did you mean provider='ollama'\?"):
        Model("llama3.2", provider="olama")


def test_an_unknown_name_still_fails_at_the_first_call_with_what_works() -> None:
    from byllm.errors import ConfigurationError

    model = Model("mystery-model")  # a plugin registered later may serve it
    with pytest.raises(ConfigurationError, match="no provider serves the model 'mystery-model': use a name such as"):
        echo_function(model)("hi")


def test_a_plugin_serving_a_name_that_looks_misspelt_keeps_working(jac_plugin_manager) -> None:
    from jaclang.runtimelib.machine import hookimpl

    from byllm.providers.mock import MockProvider

    served = MockProvider(["from the plugin"])

    class GatewayPlugin:
        @staticmethod
        @hookimpl
        def llm_provider(model_name, config):  # type: ignore[no-untyped-def]
            return served if model_name == "gpt4o" else None

    jac_plugin_manager.register(GatewayPlugin, name="gateway")
    model = Model("gpt4o")
    assert echo_function(model)("hi") == "from the plugin"
    assert model.provider is served


def test_creating_a_model_imports_no_provider_sdk() -> None:
    import subprocess
    import sys

    probe = ("import sys; from byllm.lib import Model; [Model(n) for n in ('gpt-4o-mini', 'claude-3-5-haiku-latest', "
             "'ollama/llama3.2', 'litellm/openai/gpt-4o', 'local/smollm2-135m', 'mystery')]; "
             "print(sorted(m for m in ('openai', 'anthropic', 'litellm', 'aiohttp', 'xllamacpp') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


# -- LiteLLM offline -----------------------------------------------------------------------------
def test_litellm_uses_its_bundled_cost_map_instead_of_fetching_it() -> None:
    import subprocess
    import sys

    pytest.importorskip("litellm")
    probe = ("import os; os.environ.pop('LITELLM_LOCAL_MODEL_COST_MAP', None)\n"
             "from byllm.providers.litellm_provider import _litellm\n"
             "litellm = _litellm()\n"
             "print(os.environ['LITELLM_LOCAL_MODEL_COST_MAP'], 'gpt-4o-mini' in litellm.model_cost)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert result.stdout.split() == ["True", "True"], result.stderr
    assert "remote model cost map" not in result.stderr


def test_a_users_own_cost_map_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from byllm.providers.litellm_provider import LOCAL_COST_MAP_VARIABLE

    pytest.importorskip("litellm")
    from byllm.providers.litellm_provider import _litellm

    monkeypatch.setenv(LOCAL_COST_MAP_VARIABLE, "False")
    _litellm()
    assert os.environ[LOCAL_COST_MAP_VARIABLE] == "False"


# -- an unpriced model's cost ------------------------------------------------------------------------
def test_an_unpriced_cost_reads_the_same_in_every_report() -> None:
    from byllm.plugins.usage import UNPRICED, format_cost
    from jaclang.commands import run

    assert format_cost(None) == run.UNPRICED == UNPRICED == "unpriced"
    assert format_cost(0.000123) == "$0.000123"
    assert run._tokens_and_cost(10, 5, None) == "10 tokens in, 5 out, unpriced"


def test_a_run_with_an_unpriced_call_has_no_total_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    from byllm.call import CallRecord
    from byllm.meaning import describe_function
    from byllm.plugins.usage import UsageLedger
    from byllm.providers.base import Usage

    def answer(question: str) -> str: ...

    def record(model_name: str, cost: float | None) -> CallRecord:
        return CallRecord(function="answer", meaning=describe_function(answer), model_name=model_name, params={},
                          usage=Usage(10, 5), cost=cost)

    ledger = UsageLedger()
    ledger.add(record("gpt-4o-mini", 0.25))
    assert ledger.run.cost == 0.25
    ledger.add(record("house-model", None))
    assert ledger.run.cost is None  # not 0.25 and not 0.0: the total is unknown
    assert (ledger.run.priced_cost, ledger.run.unpriced_tokens) == (0.25, 15)
    assert ledger.run.by_model["house-model"].cost is None
