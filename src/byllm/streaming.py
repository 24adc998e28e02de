"""Streaming: ``by llm(stream=True)`` on a ``-> str`` function yields the reply text in chunks.

Sync callers get an iterator, async callers an async iterator. The request is
prepared (and the return type checked) when the function is called; the
provider is asked when iteration starts. When the stream ends, the whole text
is recorded on the model like any other call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator, Mapping

from byllm.errors import ConfigurationError
from byllm.meaning import describe_function
from byllm.providers.base import CompletionReply

if TYPE_CHECKING:
    from byllm.llm import Model, TypedCall


def _prepare_stream(model: Model, caller: Callable[..., Any], args: Mapping[str | int, object]) -> TypedCall:
    """Check that streaming applies to this call and build its request."""
    meaning = describe_function(caller)
    if meaning.return_type is not str:
        raise ConfigurationError(
            f"{meaning.qualified_name}: stream=True needs a function returning str, but it returns "
            f"{getattr(meaning.return_type, '__name__', meaning.return_type)!s}; drop stream=True to get a typed value"
        )
    if model.param("tools"):
        raise ConfigurationError(
            f"{meaning.qualified_name}: stream=True cannot be combined with tools=[...]; use one or the other"
        )
    call = model.prepare(caller, args)
    call.request.stream = True
    return call


def _finish(call: TypedCall, chunks: list[str]) -> None:
    call.accept(CompletionReply(text="".join(chunks), model=call.request.model))


def stream_call(model: Model, caller: Callable[..., Any], args: Mapping[str | int, object]) -> Iterator[str]:
    """The reply to one call of ``caller`` as an iterator of text chunks."""
    call = _prepare_stream(model, caller, args)
    return _iterate(model, call)


def _iterate(model: Model, call: TypedCall) -> Iterator[str]:
    provider = model.provider
    stream = getattr(provider, "stream", None)
    chunks: list[str] = []
    try:
        if stream is None:
            # A provider without streaming still answers: one chunk holding the whole text.
            reply = model.complete(call.request)
            chunks.append(reply.text)
            yield reply.text
        else:
            for chunk in stream(call.request):
                chunks.append(chunk)
                yield chunk
    except GeneratorExit:  # the caller stopped reading early: nothing to record
        raise
    except BaseException as error:
        model._finish(call.record, error=error)
        raise
    _finish(call, chunks)


def astream_call(model: Model, caller: Callable[..., Any], args: Mapping[str | int, object]) -> AsyncIterator[str]:
    """The reply to one call of an ``async def`` ``caller`` as an async iterator of text chunks."""
    call = _prepare_stream(model, caller, args)
    return _aiterate(model, call)


async def _aiterate(model: Model, call: TypedCall) -> AsyncIterator[str]:
    provider = model.provider
    astream = getattr(provider, "astream", None)
    chunks: list[str] = []
    try:
        if astream is None:
            reply = await model.acomplete(call.request)
            chunks.append(reply.text)
            yield reply.text
        else:
            async for chunk in astream(call.request):
                chunks.append(chunk)
                yield chunk
    except GeneratorExit:  # the caller stopped reading early: nothing to record
        raise
    except BaseException as error:
        model._finish(call.record, error=error)
        raise
    _finish(call, chunks)
