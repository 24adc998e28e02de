"""Provider choice from model names, explicit settings and the ``llm_provider`` plugin hook."""

from __future__ import annotations

from typing import Any

import pytest

from byllm.lib import ConfigurationError, Model, by
from byllm.providers.anthropic_provider import AnthropicProvider
from byllm.providers.base import CompletionReply, CompletionRequest
from byllm.providers.litellm_provider import LiteLLMProvider
from byllm.providers.mock import MockProvider
from byllm.providers.openai_provider import OpenAICompatibleProvider
from byllm.providers.registry import builtin_provider
from jaclang.runtimelib.machine import hookimpl, plugin_manager


@pytest.mark.parametrize(
    ("model_name", "config", "kind", "provider_name", "base_url", "model_id"),
    [
        ("gpt-4o-mini", {}, OpenAICompatibleProvider, "openai", None, "gpt-4o-mini"),
        ("o1-mini", {}, OpenAICompatibleProvider, "openai", None, "o1-mini"),
        ("o3", {}, OpenAICompatibleProvider, "openai", None, "o3"),
        ("openai/gpt-4.1", {}, OpenAICompatibleProvider, "openai", None, "gpt-4.1"),
        ("gpt-4o", {"base_url": "http://proxy/v1"}, OpenAICompatibleProvider, "openai", "http://proxy/v1", "gpt-4o"),
        ("ollama/llama3.2", {}, OpenAICompatibleProvider, "ollama", "http://localhost:11434/v1", "llama3.2"),
        ("vllm/Qwen/Qwen2.5-7B", {}, OpenAICompatibleProvider, "vllm", "http://localhost:8000/v1", "Qwen/Qwen2.5-7B"),
        ("lmstudio/phi-4", {}, OpenAICompatibleProvider, "lmstudio", "http://localhost:1234/v1", "phi-4"),
        ("llamacpp/any", {}, OpenAICompatibleProvider, "llamacpp", "http://localhost:8080/v1", "any"),
        ("ollama/llama3.2", {"base_url": "http://gpu:11434/v1"}, OpenAICompatibleProvider, "ollama",
         "http://gpu:11434/v1", "llama3.2"),
        ("gemini/gemini-2.0-flash", {}, OpenAICompatibleProvider, "gemini",
         "https://generativelanguage.googleapis.com/v1beta/openai/", "gemini-2.0-flash"),
        ("groq/llama-3.3-70b", {}, OpenAICompatibleProvider, "groq", "https://api.groq.com/openai/v1", "llama-3.3-70b"),
        ("my-finetune", {"base_url": "http://10.0.0.5:8000/v1"}, OpenAICompatibleProvider, "openai-compatible",
         "http://10.0.0.5:8000/v1", "my-finetune"),
        ("anthropic/claude-3-5-haiku-latest", {}, AnthropicProvider, "anthropic", None, "claude-3-5-haiku-latest"),
        ("claude-opus-4-1", {}, AnthropicProvider, "anthropic", None, "claude-opus-4-1"),
        ("house-model", {"provider": "anthropic", "base_url": "http://gw"}, AnthropicProvider, "anthropic",
         "http://gw", "house-model"),
        ("litellm/bedrock/anthropic.claude-3", {}, LiteLLMProvider, "litellm", None, "bedrock/anthropic.claude-3"),
    ],
)
def test_model_name_rules(model_name: str, config: dict[str, Any], kind: type, provider_name: str,
                          base_url: str | None, model_id: str) -> None:
    provider = builtin_provider(model_name, config)
    assert isinstance(provider, kind)
    assert provider.name == provider_name
    assert provider.base_url == base_url
    assert provider.model_id(model_name) == model_id


def test_mock_names_keep_the_mock_provider() -> None:
    assert isinstance(builtin_provider("mockllm", {"outputs": ["x"]}), MockProvider)
    assert isinstance(builtin_provider("mock", {}), MockProvider)


def test_unknown_names_and_providers_are_clear_errors() -> None:
    with pytest.raises(ConfigurationError, match="no provider serves the model 'mystery-model'"):
        Model("mystery-model").provider
    with pytest.raises(ConfigurationError, match="unknown provider='skynet'"):
        Model("x", provider="skynet").provider
    with pytest.raises(ConfigurationError, match="litellm/<provider>/<model>"):
        LiteLLMProvider().model_id("litellm/gpt-4o")


def test_hosted_presets_need_their_own_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="GROQ_API_KEY"):
        Model("groq/llama-3.3-70b").provider.api_key()
    monkeypatch.setenv("GROQ_API_KEY", "gsk-abc")
    assert Model("groq/llama-3.3-70b").provider.api_key() == "gsk-abc"
    assert Model("ollama/llama3.2").provider.api_key() == "not-needed"


class EchoProvider:
    """A provider answering with the last user message, for the hook test."""

    name = "echo"

    def model_id(self, model_name: str) -> str:
        return model_name.removeprefix("echo/")

    def complete(self, request: CompletionRequest) -> CompletionReply:
        lines = request.messages[-1]["content"].splitlines()
        return CompletionReply(text=f"{request.model}: {next(line for line in lines if line.startswith('- '))}")


class EchoPlugin:
    @staticmethod
    @hookimpl
    def llm_provider(model_name: str, config: dict[str, Any]) -> Any:
        return EchoProvider() if model_name.startswith("echo/") else None


def test_a_plugin_serves_its_own_prefix_through_the_llm_provider_hook() -> None:
    plugin_manager.register(EchoPlugin, name="test-echo-provider")
    try:
        @by(Model("echo/v1"))
        def say(text: str) -> str:
            """Say it."""

        answer = say("hello")
        assert answer.startswith("v1: - text") and answer.endswith('"hello"')
        assert isinstance(Model("gpt-4o-mini", api_key="k").provider, OpenAICompatibleProvider)
    finally:
        plugin_manager.unregister(name="test-echo-provider")
