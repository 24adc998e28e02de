"""Choosing a provider from a model name.

Plugins answer the ``llm_provider`` hook first; byllm's built-in table is the
fallback. Provider modules are imported only when a model of theirs is used.
"""

from __future__ import annotations

from typing import Any

from byllm.errors import ConfigurationError
from byllm.providers.mock import MOCK_MODEL_NAMES, MockProvider


def builtin_provider(model_name: str, config: dict[str, Any]) -> Any:
    """The provider byllm itself offers for ``model_name``, or ``None``."""
    if model_name in MOCK_MODEL_NAMES:
        return MockProvider(config.get("outputs"))
    return None


def resolve_provider(model_name: str, config: dict[str, Any]) -> Any:
    """The provider for ``model_name``: plugins first, then byllm's built-ins."""
    from jaclang.runtimelib.machine import plugin_manager

    import byllm.hooks  # noqa: F401  (registers the llm_provider hook spec)

    provider = plugin_manager.hook.llm_provider(model_name=model_name, config=config)
    if provider is None:
        provider = builtin_provider(model_name, config)
    if provider is None:
        raise ConfigurationError(
            f"no provider serves the model {model_name!r}: use a name such as 'gpt-4o-mini', "
            "'anthropic/claude-3-5-haiku-latest', 'ollama/llama3.2' or 'mockllm', "
            "or install a plugin that provides it"
        )
    return provider
