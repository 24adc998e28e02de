"""The base of every provider that talks to a server: write the conversions, inherit the rest.

:class:`RemoteProvider` owns what every provider needs: key lookup, the
transport (and through it the shared client cache), retries, error mapping,
redacted ``repr`` and the four entry points ``complete`` / ``acomplete`` /
``stream`` / ``astream``. A concrete provider writes three conversions::

    class EchoProvider(RemoteProvider):
        name = "echo"
        transport = SDKTransport("openai", "OpenAI", "chat.completions.create")

        def wire_body(self, request, *, stream):      # CompletionRequest -> JSON body
            ...
        def reply_from_wire(self, response, request):  # wire response -> CompletionReply
            ...
        def stream_delta(self, event, state):           # one streamed event -> text (usage into state)
            ...

A reply that cannot be read (wrong shape, no content) raises
:class:`~byllm.errors.MalformedReplyError` / :class:`~byllm.errors.EmptyReplyError`
and is retried like any transport fault.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from typing import Any, AsyncIterator, Iterator

from byllm.errors import ByLLMError, ConfigurationError, EmptyReplyError, MalformedReplyError
from byllm.providers.base import CompletionReply, CompletionRequest, StreamChunk, Usage
from byllm.providers.transport import (
    Connection,
    RetryPolicy,
    Transport,
    TransientError,
    acall_with_retries,
    call_with_retries,
)
from byllm.redact import is_secret_name, redact, redact_mapping, redact_url

# Errors a conversion raises when the server's data does not have the shape it reads.
_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError)


def wire_field(data: Any, name: str) -> Any:
    """A member of wire data: a dict's key (own transports) or an attribute (SDK response objects)."""
    if isinstance(data, dict):
        return data.get(name)
    return getattr(data, name, None)


@dataclass
class StreamState:
    """What a stream reports besides text; ``stream_delta`` fills in ``usage`` when the server sends it."""

    usage: Usage | None = None


class RemoteProvider:
    """A provider that sends requests to a server through a :class:`~byllm.providers.transport.Transport`.

    Class attributes describe the provider (override them, or set them in
    ``__init__``): ``name``; ``prefix``, removed from model names;
    ``api_key_env``, the variable the key is read from when ``api_key=`` is not
    given; ``key_required`` (when false, ``placeholder_key`` is sent instead);
    ``transport``.
    """

    name: str = "remote"
    prefix: str = ""
    api_key_env: str | None = None
    key_required: bool = True
    placeholder_key: str | None = None
    transport: Transport

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        policy: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        extra_params: dict[str, Any] | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self.policy = policy or RetryPolicy()
        self.headers = dict(headers or {})
        self.extra_params = dict(extra_params or {})
        if transport is not None:
            self.transport = transport

    def __repr__(self) -> str:
        shown = f"{type(self).__name__}(name={self.name!r}, base_url={redact_url(self.base_url)!r}"
        if self.headers:
            shown += f", headers={redact_mapping(self.headers)!r}"
        if self.extra_params:
            shown += f", extra_params={redact_mapping(self.extra_params)!r}"
        return shown + ")"

    def model_id(self, model_name: str) -> str:
        """The model name the server knows (``prefix`` removed)."""
        if self.prefix and model_name.startswith(self.prefix):
            return model_name[len(self.prefix):]
        return model_name

    # -- what a concrete provider writes ------------------------------------------------
    def wire_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        """The JSON body for ``request`` in the provider's protocol (``stream`` asks for events)."""
        raise NotImplementedError

    def reply_from_wire(self, response: Any, request: CompletionRequest) -> CompletionReply:
        """The reply a wire response stands for; raise :class:`EmptyReplyError` when it holds nothing."""
        raise NotImplementedError

    def stream_delta(self, event: Any, state: StreamState) -> str:
        """The text one streamed event adds (``""`` for none); usage it reports goes into ``state``."""
        raise NotImplementedError

    # -- keys and errors ----------------------------------------------------------------
    def api_key(self) -> str | None:
        """The key to send: ``api_key=...``, else ``api_key_env`` read at call time, else the placeholder."""
        key = self._api_key or (os.environ.get(self.api_key_env) if self.api_key_env else None)
        if key or not self.key_required:
            return key or self.placeholder_key
        raise ConfigurationError(
            f"{self.name}: no API key: set the {self.api_key_env} environment variable "
            "or pass api_key=... to Model(...)"
        )

    def connection(self) -> Connection:
        """Where this call goes: base URL, key (read now), timeout and headers."""
        return Connection(self.base_url, self.api_key(), self.policy.timeout, self.headers)

    def secrets(self) -> list[str]:
        """Every credential this provider could echo back: masked out of its error messages."""
        found = [self._api_key or (os.environ.get(self.api_key_env) or "" if self.api_key_env else "")]
        found += [str(value) for key, value in self.headers.items() if is_secret_name(key)]
        if self.base_url and "@" in self.base_url:
            found.append(self.base_url.split("://", 1)[-1].split("@", 1)[0].rpartition(":")[2])
        return [secret for secret in found if secret]

    def classify(self, error: BaseException) -> ByLLMError | TransientError | None:
        """The byllm error ``error`` stands for (see :meth:`Transport.classify`)."""
        return self.transport.classify(error, self.name, self.secrets())

    def _read_reply(self, response: Any, request: CompletionRequest) -> CompletionReply:
        """``reply_from_wire``, with any failure to read the server's data a (retried) malformed reply."""
        try:
            return self.reply_from_wire(response, request)
        except MalformedReplyError as error:
            error.args = (redact(str(error), self.secrets()),)  # the message may quote the body
            raise
        except _SHAPE_ERRORS as error:
            raise MalformedReplyError(
                f"{self.name}: the reply is not shaped like a completion ({type(error).__name__}: "
                f"{redact(str(error), self.secrets())[:200]})", provider=self.name) from None

    def _final_error(self, error: Exception) -> Exception:
        """The error to raise for a failure that is not retried (mid-stream)."""
        mapped = self.classify(error)
        if mapped is None:
            return error
        return mapped.error if isinstance(mapped, TransientError) else mapped

    def _no_text(self) -> TransientError:
        return TransientError(EmptyReplyError(
            f"{self.name}: the provider returned no content (the stream ended without text)", provider=self.name))

    # -- entry points -------------------------------------------------------------------
    def complete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request."""
        body = self.wire_body(request, stream=False)

        def attempt() -> CompletionReply:
            return self._read_reply(self.transport.send(body, self.connection()), request)

        return call_with_retries(attempt, self.policy, self.classify, self.name)

    async def acomplete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request without blocking the event loop."""
        body = self.wire_body(request, stream=False)

        async def attempt() -> CompletionReply:
            return self._read_reply(await self.transport.asend(body, self.connection()), request)

        return await acall_with_retries(attempt, self.policy, self.classify, self.name)

    def stream(self, request: CompletionRequest) -> Iterator[StreamChunk]:
        """Yield the reply as it streams, usage on the last chunk.

        Failures before the first text are retried like any other; once text
        has flowed the caller has seen it, so a later failure is raised as is.
        """
        body = self.wire_body(request, stream=True)
        events, rest, first, state = call_with_retries(
            lambda: self._open_stream(body), self.policy, self.classify, self.name)
        try:
            yield StreamChunk(first)
            for event in rest:
                text = self.stream_delta(event, state)
                if text:
                    yield StreamChunk(text)
        except Exception as error:
            raise self._final_error(error) from None
        finally:
            _close(events)
        if state.usage is not None:
            yield StreamChunk("", state.usage)

    def _open_stream(self, body: dict[str, Any]) -> tuple[Any, Iterator[Any], str, StreamState]:
        """Open a stream and read up to its first text (one retryable attempt)."""
        events = self.transport.send(body, self.connection())
        state = StreamState()
        try:
            rest = iter(events)
            for event in rest:
                text = self.stream_delta(event, state)
                if text:
                    return events, rest, text, state
            raise self._no_text()
        except BaseException:
            _close(events)
            raise

    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamChunk]:
        """Async form of :meth:`stream`."""
        body = self.wire_body(request, stream=True)
        events, rest, first, state = await acall_with_retries(
            lambda: self._aopen_stream(body), self.policy, self.classify, self.name)
        try:
            yield StreamChunk(first)
            async for event in rest:
                text = self.stream_delta(event, state)
                if text:
                    yield StreamChunk(text)
        except Exception as error:
            raise self._final_error(error) from None
        finally:
            await _aclose(events)
        if state.usage is not None:
            yield StreamChunk("", state.usage)

    async def _aopen_stream(self, body: dict[str, Any]) -> tuple[Any, AsyncIterator[Any], str, StreamState]:
        events = await self.transport.asend(body, self.connection())
        state = StreamState()
        try:
            rest = aiter(events)
            async for event in rest:
                text = self.stream_delta(event, state)
                if text:
                    return events, rest, text, state
            raise self._no_text()
        except BaseException:
            await _aclose(events)
            raise


def _close(events: Any) -> None:
    close = getattr(events, "close", None)
    if callable(close):
        close()


async def _aclose(events: Any) -> None:
    close = getattr(events, "aclose", None) or getattr(events, "close", None)
    if callable(close):
        result = close()
        if inspect.isawaitable(result):
            await result
