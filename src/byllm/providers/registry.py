"""Choosing a provider from a model name.

:func:`resolve_provider` asks the ``llm_provider`` hook; plugins answer first and
byllm's own plugin answers last with :func:`builtin_provider`. Provider modules
are imported only when a model of theirs is used, and no SDK is imported until
the first real call.

Built-in name rules, first match wins (the full table: docs/providers.md): a provider object
passed as ``provider=...``; ``provider="..."`` in the configuration (``"mock"``: the script answers, whatever the
name); ``mockllm``; a ``prefix/`` (``openai/``, ``anthropic/``,
``litellm/``, local and hosted OpenAI-compatible servers); ``claude-*``; OpenAI model
names (``gpt-*``, ``o1*``, ...); any other name with ``base_url=...``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from byllm.errors import ConfigurationError
from byllm.providers.hints import KNOWN_MODEL_NAMES, closest_name, unknown_model_message
from byllm.providers.mock import MOCK_MODEL_NAMES, MockProvider
from byllm.providers.base import setting as _setting


@dataclass(frozen=True)
class ServerPreset:
    """A known OpenAI-compatible server: default URL and where its key comes from."""

    base_url: str
    api_key_env: str | None


LOCAL_SERVERS: dict[str, ServerPreset] = {
    "ollama": ServerPreset("http://localhost:11434/v1", None),
    "vllm": ServerPreset("http://localhost:8000/v1", None),
    "lmstudio": ServerPreset("http://localhost:1234/v1", None),
    "llamacpp": ServerPreset("http://localhost:8080/v1", None),
}

HOSTED_SERVERS: dict[str, ServerPreset] = {
    "gemini": ServerPreset("https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY"),
    "groq": ServerPreset("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "openrouter": ServerPreset("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "deepseek": ServerPreset("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "together": ServerPreset("https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "mistral": ServerPreset("https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
}

OPENAI_MODEL_NAME = re.compile(r"^(gpt-|chatgpt-|o1|o3|o4)")
# Providers byllm serves itself, by ``provider=`` value or model-name prefix (besides the presets above).
BUILTIN_KINDS = ("openai", "anthropic", "litellm", "local", "mock")


def known_prefixes() -> list[str]:
    """Every provider kind byllm serves itself: usable as ``<kind>/<model>`` or ``provider="<kind>"``."""
    return [*BUILTIN_KINDS, *LOCAL_SERVERS, *HOSTED_SERVERS]


def builtin_serves(model_name: str, config: Any) -> bool:
    """Whether :func:`builtin_provider` has a provider for ``model_name``, decided from the name alone.

    Nothing is built or imported: this is what ``Model(...)`` checks when it is
    created, so a misspelt name fails there rather than at the first call.
    """
    if model_name in MOCK_MODEL_NAMES:
        return True
    explicit = _setting(config, "provider")
    if explicit is not None:
        return not isinstance(explicit, str) or explicit in known_prefixes()
    prefix, slash, _rest = model_name.partition("/")
    if slash and prefix in known_prefixes():
        return True
    return model_name.startswith("claude-") or bool(OPENAI_MODEL_NAME.match(model_name)) or bool(
        _setting(config, "base_url"))


def check_model_name(model_name: str, config: Any) -> Any:
    """Catch a misspelt model name when ``Model(...)`` is created, not at its first call.

    Names byllm's rules serve pass without building anything (``None``: the
    provider is built on the first call). A name close to a known name or
    prefix (``gpt4o``, ``olama/llama3.2``, ``provider="olama"``) is put to the
    ``llm_provider`` hook now, so a plugin serving it keeps working (its provider
    is handed back to be kept); when nothing serves it, it is a
    :class:`ConfigurationError` with a did-you-mean, unless a plugin answers
    ``call_llm`` itself. Any other unknown name is left to the first call: a
    plugin registered after the model was created may serve it.
    """
    if builtin_serves(model_name, config):
        return None
    explicit = _setting(config, "provider")
    looks_like = closest_name(f"{explicit}/" if isinstance(explicit, str) else model_name, KNOWN_MODEL_NAMES,
                              known_prefixes())
    if looks_like is None:
        return None
    from jaclang.runtimelib import machine

    hook = getattr(machine.plugin_manager.hook, "llm_provider", None)
    if hook is None:  # byllm's plugin is blocked: the first call says so
        return None
    provider = hook(model_name=model_name, config=config)
    if provider is None and not _foreign_call_llm_plugins(machine.plugin_manager):
        raise ConfigurationError(unknown_model_message(model_name, KNOWN_MODEL_NAMES, known_prefixes()))
    return provider


def _foreign_call_llm_plugins(manager: Any) -> list[str]:
    """Plugins other than byllm that answer ``call_llm`` themselves (wrappers only observe)."""
    hook = getattr(manager.hook, "call_llm", None)
    if hook is None:
        return []
    return [implementation.plugin_name for implementation in hook.get_hookimpls()
            if not (implementation.wrapper or implementation.hookwrapper) and implementation.plugin_name != "byllm"]


def builtin_provider(model_name: str, config: Any) -> Any:
    """The provider byllm itself offers for ``model_name``, or ``None``."""
    explicit = _setting(config, "provider")
    if explicit is not None and not isinstance(explicit, str):
        return explicit  # a ready provider object passed as Model(..., provider=...)
    prefix, slash, _rest = model_name.partition("/")
    kind = explicit or (prefix if slash else "")
    if kind == "mock" or model_name in MOCK_MODEL_NAMES:  # provider="mock": any name, answered by the script
        return MockProvider(_setting(config, "outputs"))
    if kind == "openai":
        return openai_provider(model_name, config, prefix="openai/")
    if kind == "anthropic" or (not kind and model_name.startswith("claude-")):
        return anthropic_provider(model_name, config)
    if kind == "litellm":
        from byllm.providers.litellm_provider import LiteLLMProvider

        return LiteLLMProvider(json_mode=_setting(config, "json_mode"), **_connection_settings(config))
    if kind == "local" or kind in LOCAL_SERVERS:  # in-process llama.cpp; local servers with JSON-schema mode
        from byllm.providers.local import local_provider

        return local_provider(kind, model_name, config)
    if kind in LOCAL_SERVERS or kind in HOSTED_SERVERS:
        return preset_provider(kind, config)
    if explicit:
        close = closest_name(f"{explicit}/", (), known_prefixes())
        advice = f"did you mean provider={close.rstrip('/')!r}? " if close else ""
        raise ConfigurationError(
            f"unknown provider={explicit!r} for model {model_name!r}: {advice}use 'openai', 'anthropic', 'litellm', "
            f"'local' or one of {sorted({*LOCAL_SERVERS, *HOSTED_SERVERS})}"
        )
    if OPENAI_MODEL_NAME.match(model_name):
        return openai_provider(model_name, config, prefix="")
    if _setting(config, "base_url"):
        return custom_server_provider(config)
    return None


def _connection_settings(config: Any, **overrides: Any) -> dict[str, Any]:
    """The keyword arguments every remote provider takes, read from the configuration."""
    from byllm.providers.transport import RetryPolicy  # remote providers only: the mock never loads the transport

    settings = {
        "base_url": _setting(config, "base_url"),
        "api_key": _setting(config, "api_key"),
        "headers": _setting(config, "headers"),
        "extra_params": _setting(config, "extra_params"),
        "policy": RetryPolicy.from_config(config),
    }
    settings.update(overrides)
    return settings


def _json_mode(config: Any, default: bool) -> bool | str:
    value = _setting(config, "json_mode")
    return default if value is None else value


def openai_compatible(config: Any, *, name: str, base_url: str | None, api_key_env: str | None, key_required: bool,
                      json_mode: bool, prefix: str = "") -> Any:
    """An :class:`OpenAICompatibleProvider`; ``json_mode`` is the default when the configuration sets none."""
    from byllm.providers.openai_provider import OpenAICompatibleProvider

    return OpenAICompatibleProvider(name=name, prefix=prefix, api_key_env=api_key_env, key_required=key_required,
                                    json_mode=_json_mode(config, default=json_mode),
                                    **_connection_settings(config, base_url=base_url))


def openai_provider(model_name: str, config: Any, prefix: str) -> Any:
    """OpenAI itself (or a proxy for it via ``base_url`` / ``OPENAI_BASE_URL``)."""
    base_url = _setting(config, "base_url") or os.environ.get("OPENAI_BASE_URL") or None
    return openai_compatible(config, name="openai", prefix=prefix, base_url=base_url, api_key_env="OPENAI_API_KEY",
                             key_required=base_url is None, json_mode=True)


def preset_provider(kind: str, config: Any) -> Any:
    """A local or hosted OpenAI-compatible server known by its prefix (``ollama/``, ``groq/``)."""
    preset = LOCAL_SERVERS.get(kind) or HOSTED_SERVERS[kind]
    base_url = _setting(config, "base_url") or os.environ.get(f"{kind.upper()}_BASE_URL") or preset.base_url
    return openai_compatible(config, name=kind, prefix=f"{kind}/", base_url=base_url, api_key_env=preset.api_key_env,
                             key_required=preset.api_key_env is not None, json_mode=True)


def custom_server_provider(config: Any) -> Any:
    """Any OpenAI-compatible server at ``base_url``; the model name is sent unchanged.

    Only an explicit ``api_key`` is sent: an ``OPENAI_API_KEY`` from the
    environment is never handed to a server the name does not say is OpenAI.
    """
    return openai_compatible(config, name="openai-compatible", base_url=_setting(config, "base_url"),
                             api_key_env=None, key_required=False, json_mode=True)


def anthropic_provider(model_name: str, config: Any) -> Any:
    """Anthropic's Messages API (``anthropic/claude-...`` or ``claude-...``)."""
    from byllm.providers.anthropic_provider import AnthropicProvider

    base_url = _setting(config, "base_url") or os.environ.get("ANTHROPIC_BASE_URL") or None
    return AnthropicProvider(**_connection_settings(config, base_url=base_url))


def resolve_provider(model_name: str, config: Any) -> Any:
    """The provider for ``model_name``, as the ``llm_provider`` hook answers.

    Plugins answer first; byllm's own plugin answers last with :func:`builtin_provider`.
    """
    from jaclang.runtimelib import machine

    hook = getattr(machine.plugin_manager.hook, "llm_provider", None)
    if hook is None:
        raise ConfigurationError(
            f"no provider can be chosen for the model {model_name!r}: byllm's plugin is blocked (its "
            "llm_provider hook is missing); remove 'byllm' from the JAC_DISABLED_PLUGINS environment variable"
        )
    provider = hook(model_name=model_name, config=config)
    if provider is None:
        raise ConfigurationError(unknown_model_message(model_name, KNOWN_MODEL_NAMES, known_prefixes()))
    return provider
