"""byllm's default plugin: answers ``call_llm`` and sends completions to providers.

Registered through the ``jac`` entry-point group like any user plugin. Its
hooks run last, so user plugins see calls first and may delegate back through
``model.invoke``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

from jaclang.runtimelib.machine import hookimpl
from byllm.hooks import asend_to_provider, send_to_provider

if TYPE_CHECKING:  # kept out of the import path: every `jac run` loads this plugin
    from byllm.llm import Model
    from byllm.providers.base import CompletionReply, CompletionRequest


class ByllmMachine:
    """The default implementation of ``call_llm`` and of byllm's hooks."""

    @staticmethod
    @hookimpl(trylast=True)
    def call_llm(model: Model, caller: Callable, args: dict[str | int, object]) -> object:
        """Answer a ``by llm()`` call with the model itself."""
        return model.invoke(caller, args)

    @staticmethod
    @hookimpl(trylast=True)
    def llm_complete(model: Model, request: CompletionRequest) -> CompletionReply:
        """Send one completion to the model's provider."""
        return send_to_provider(model, request)

    @staticmethod
    @hookimpl(trylast=True)
    def llm_acomplete(model: Model, request: CompletionRequest) -> Awaitable[CompletionReply]:
        """Send one completion to the model's provider, asynchronously."""
        return asend_to_provider(model, request)

    @staticmethod
    @hookimpl(trylast=True)
    def llm_provider(model_name: str, config: dict[str, Any]) -> Any:
        """Serve the model names byllm knows (mock, OpenAI, Anthropic, LiteLLM, ...)."""
        from byllm.providers.registry import builtin_provider

        return builtin_provider(model_name, config)
