"""byllm's own hook specifications and the helpers that call them.

``llm_complete`` / ``llm_acomplete`` wrap every single completion (retries and
tool-loop turns included), which is where caches, logs and usage counters sit.
``llm_provider`` lets a separate package serve its own model-name prefix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable

from jaclang.runtimelib import machine
from jaclang.runtimelib.machine import hookspec, plugin_manager

if TYPE_CHECKING:
    from byllm.llm import Model
    from byllm.providers.base import CompletionReply, CompletionRequest


class ByllmSpec:
    """Hook specifications byllm adds to the ``jac`` plugin manager."""

    @staticmethod
    @hookspec(firstresult=True)
    def llm_complete(model: Model, request: CompletionRequest) -> CompletionReply:
        """Send one completion request to ``model``'s provider and return its reply."""

    @staticmethod
    @hookspec(firstresult=True)
    def llm_acomplete(model: Model, request: CompletionRequest) -> Awaitable[CompletionReply]:
        """Return an awaitable of the reply to one request (async calls)."""

    @staticmethod
    @hookspec(firstresult=True)
    def llm_provider(model_name: str, config: dict[str, Any]) -> Any:
        """Return a provider for ``model_name``, or ``None`` to let others answer."""


plugin_manager.add_hookspecs(ByllmSpec)


def send_to_provider(model: Model, request: CompletionRequest) -> CompletionReply:
    """Ask the model's provider directly (the default ``llm_complete``)."""
    return model.provider.complete(request)


async def asend_to_provider(model: Model, request: CompletionRequest) -> CompletionReply:
    """Ask the provider asynchronously, in a worker thread if it has no async client."""
    provider = model.provider
    acomplete = getattr(provider, "acomplete", None)
    if acomplete is not None:
        return await acomplete(request)
    import asyncio

    return await asyncio.to_thread(provider.complete, request)


def _only_default_implements(hook: Any) -> bool:
    """Whether byllm's own implementation is the hook's only one (and nobody traces hooks).

    Then the hook call can be skipped: its result would be the default's anyway.
    """
    implementations = hook.get_hookimpls()
    return len(implementations) == 1 and implementations[0].plugin_name == "byllm" and not machine.TRACING_HOOKS


def complete_through_plugins(model: Model, request: CompletionRequest) -> CompletionReply:
    """One completion through the ``llm_complete`` hook."""
    hook = plugin_manager.hook.llm_complete
    if _only_default_implements(hook):
        return send_to_provider(model, request)
    reply = hook(model=model, request=request)
    return reply if reply is not None else send_to_provider(model, request)


async def acomplete_through_plugins(model: Model, request: CompletionRequest) -> CompletionReply:
    """One async completion through the ``llm_acomplete`` hook."""
    pending = plugin_manager.hook.llm_acomplete(model=model, request=request)
    if pending is None:
        return await asend_to_provider(model, request)
    return await pending
