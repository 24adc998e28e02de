"""byllm's default plugin: the one implementation of every hook's default behaviour.

Registered through the ``jac`` entry-point group like any user plugin. Its
hooks run last (``trylast``), so user plugins see calls first and may delegate
back through ``model.invoke``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from jaclang.runtimelib.machine import hookimpl
from byllm.providers.base import CompletionReply, CompletionRequest, StreamingReply

if TYPE_CHECKING:
    from byllm.llm import Model


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
        """Send one completion to the model's provider (streamed when the request asks)."""
        provider = model.provider
        if request.stream:
            stream = getattr(provider, "stream", None)
            if stream is None:  # a provider that cannot stream answers in one chunk
                reply = provider.complete(request)
                return StreamingReply.replay([reply.text], reply.usage, reply.model)
            return StreamingReply(stream(request), model=request.model)
        return provider.complete(request)

    @staticmethod
    @hookimpl(trylast=True)
    def llm_acomplete(model: Model, request: CompletionRequest) -> Any:
        """Send one completion to the model's provider, asynchronously."""
        return _send_async(model, request)

    @staticmethod
    @hookimpl(trylast=True)
    def llm_provider(model_name: str, config: dict[str, Any]) -> Any:
        """Serve the model names byllm knows (mock, OpenAI, Anthropic, LiteLLM, ...)."""
        from byllm.providers.registry import builtin_provider

        return builtin_provider(model_name, config)


async def _send_async(model: Model, request: CompletionRequest) -> CompletionReply:
    """Ask the provider without blocking the loop (in a worker thread if it has no async client)."""
    provider = model.provider
    if request.stream:
        astream = getattr(provider, "astream", None)
        if astream is not None:
            return StreamingReply(astream(request), model=request.model)
        stream = getattr(provider, "stream", None)
        if stream is not None:
            return StreamingReply(stream(request), model=request.model)
    acomplete = getattr(provider, "acomplete", None)
    if acomplete is not None:
        reply = await acomplete(request)
    else:
        import asyncio

        reply = await asyncio.to_thread(provider.complete, request)
    if request.stream:
        return StreamingReply.replay([reply.text], reply.usage, reply.model)
    return reply

