"""The base of every provider that talks to a server: write the conversions, inherit the rest.

:class:`RemoteProvider` owns key lookup, the transport (and through it the shared
client cache), retries, error mapping, a redacted ``repr`` and the entry points
``complete`` / ``acomplete`` / ``stream`` / ``astream``. A concrete provider sets
``name`` and ``transport`` and writes three conversions: :meth:`~RemoteProvider.wire_body`,
:meth:`~RemoteProvider.reply_from_wire` and :meth:`~RemoteProvider.stream_delta`
(see docs/providers.md). Wire data may be SDK objects or plain dicts: read it
with :func:`wire_field`. A reply that cannot be read, or holds no content, is a
:class:`~byllm.errors.MalformedReplyError` and is retried like any transport fault.
"""

from __future__ import annotations

import inspect
import os
from abc import ABC, abstractmethod
from typing import Any, AsyncIterator, Iterator
from urllib.parse import urlsplit

from byllm.errors import ByLLMError, ConfigurationError, EmptyReplyError, MalformedReplyError
from byllm.providers.base import CompletionReply, CompletionRequest, StreamChunk, Usage
from byllm.providers.hints import with_connection_hint
from byllm.providers.transport import (
    Connection,
    RetryPolicy,
    TransientError,
    Transport,
    acall_with_retries,
    call_with_retries,
    classify_error,
)

# What reading data of an unexpected shape raises (a list where a dict was expected, ...).
_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError)


def wire_field(data: Any, name: str) -> Any:
    """A member of wire data: a dict's key (own transports) or an attribute (SDK response objects)."""
    return data.get(name) if isinstance(data, dict) else getattr(data, name, None)


class RemoteProvider(ABC):
    """A provider that sends requests to a server through a :class:`~byllm.providers.transport.Transport`.

    ``prefix`` is removed from model names; the key is ``api_key=...``, else the
    ``api_key_env`` variable read at call time, else (``key_required=False``)
    ``placeholder_key``.
    """

    name: str = "remote"
    prefix: str = ""
    api_key_env: str | None = None
    key_required: bool = True
    placeholder_key: str | None = None
    transport: Transport
    _connection: Connection | None = None  # the last connection(), reused while it holds

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None, policy: RetryPolicy | None = None,
                 headers: dict[str, str] | None = None, extra_params: dict[str, Any] | None = None,
                 transport: Transport | None = None) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self.policy = policy or RetryPolicy()
        self.headers = dict(headers or {})
        self.extra_params = dict(extra_params or {})
        if transport is not None:
            self.transport = transport

    def __repr__(self) -> str:
        from byllm.redact import redact_mapping, redact_url  # here and below: repr and error paths only

        shown = [f"name={self.name!r}", f"base_url={redact_url(self.base_url)!r}"]
        shown += [f"{name}={redact_mapping(value)!r}" for name, value in
                  (("headers", self.headers), ("extra_params", self.extra_params)) if value]
        return f"{type(self).__name__}({', '.join(shown)})"

    def model_id(self, model_name: str) -> str:
        """The model name the server knows (``prefix`` removed)."""
        return model_name[len(self.prefix):] if self.prefix and model_name.startswith(self.prefix) else model_name

    # -- what a concrete provider writes ------------------------------------------------
    @abstractmethod
    def wire_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        """The JSON body for ``request`` in the provider's protocol (``stream`` asks for events)."""

    @abstractmethod
    def reply_from_wire(self, response: Any, request: CompletionRequest) -> CompletionReply:
        """The reply a wire response stands for; raise :class:`EmptyReplyError` when it holds nothing."""

    @abstractmethod
    def stream_delta(self, event: Any, usage: Usage) -> str:
        """The text one streamed event adds (``""`` for none); token counts it reports go into ``usage``."""

    # -- keys and errors ----------------------------------------------------------------
    def api_key(self) -> str | None:
        """The key to send, read at call time (see the class docstring)."""
        key = self._api_key or (os.environ.get(self.api_key_env) if self.api_key_env else None)
        if key or not self.key_required:
            return key or self.placeholder_key
        raise ConfigurationError(f"{self.name}: no API key: set the {self.api_key_env} environment variable "
                                 "or pass api_key=... to Model(...)")

    def connection(self) -> Connection:
        """Where a request goes now: base URL, key, timeout and headers.

        The same object while none of them changes, so a transport can keep what
        it derives from it (byllm's own keeps the parsed URL and the headers).
        """
        key, known = self.api_key(), self._connection
        if (known is None or known.api_key != key or known.base_url != self.base_url
                or known.timeout != self.policy.timeout or known.headers != self.headers):
            known = self._connection = Connection(self.base_url, key, self.policy.timeout, dict(self.headers))
        return known

    def secrets(self) -> list[str]:
        """Every credential this provider knows, to be masked out of its error messages."""
        from byllm.redact import is_secret_name

        found = [self._api_key or (os.environ.get(self.api_key_env, "") if self.api_key_env else "")]
        found += [str(value) for key, value in self.headers.items() if is_secret_name(key)]
        found.append(urlsplit(self.base_url or "").password or "")  # http://user:KEY@host
        return [secret for secret in found if secret]

    def classify(self, error: BaseException) -> ByLLMError | TransientError | None:
        """The byllm error ``error`` stands for, credentials masked; a failed connection says what to do."""
        return with_connection_hint(classify_error(error, self.name, self.secrets()), error, self.name, self.base_url)

    def _read_reply(self, response: Any, request: CompletionRequest) -> CompletionReply:
        """``reply_from_wire``; data it cannot read is a (retried) malformed reply."""
        try:
            return self.reply_from_wire(response, request)
        except MalformedReplyError as error:
            from byllm.redact import redact

            error.args = (redact(str(error), self.secrets()),)  # the message may quote the body
            raise
        except _SHAPE_ERRORS as error:
            from byllm.redact import redact

            raise MalformedReplyError(f"{self.name}: the reply is not shaped like a completion "
                                      f"({type(error).__name__}: {redact(str(error), self.secrets())[:200]})",
                                      provider=self.name) from None

    def _first_text(self, text: str) -> str:
        if not text:  # nothing to show for this attempt: retry it
            raise EmptyReplyError(f"{self.name}: the provider returned no content (the stream ended without text)",
                                  provider=self.name)
        return text

    def _mid_stream_error(self, error: Exception) -> Exception:
        mapped = self.classify(error)
        return error if mapped is None else mapped.error if isinstance(mapped, TransientError) else mapped

    # -- entry points -------------------------------------------------------------------
    def complete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request."""
        body = self.wire_body(request, stream=False)
        return call_with_retries(lambda: self._read_reply(self.transport.send(body, self.connection()), request),
                                 self.policy, self.classify, self.name)

    async def acomplete(self, request: CompletionRequest) -> CompletionReply:
        """Answer one request without blocking the event loop."""
        body = self.wire_body(request, stream=False)

        async def attempt() -> CompletionReply:
            return self._read_reply(await self.transport.asend(body, self.connection()), request)

        return await acall_with_retries(attempt, self.policy, self.classify, self.name)

    def stream(self, request: CompletionRequest) -> Iterator[StreamChunk]:
        """Yield the reply as it streams, usage on the last chunk.

        Failures before the first text are retried like any other; once text has
        flowed the caller has seen it, so a later failure is raised, typed.
        """
        body = self.wire_body(request, stream=True)

        def attempt() -> tuple[Any, Iterator[Any], str, Usage]:
            events, usage = self.transport.send(body, self.connection()), Usage()
            try:
                rest = iter(events)
                first = next((text for event in rest if (text := self.stream_delta(event, usage))), "")
                return events, rest, self._first_text(first), usage
            except BaseException:
                _close(events)
                raise

        events, rest, first, usage = call_with_retries(attempt, self.policy, self.classify, self.name)
        failure = None
        try:
            yield StreamChunk(first)
            for event in rest:
                if text := self.stream_delta(event, usage):
                    yield StreamChunk(text)
        except Exception as error:
            failure = self._mid_stream_error(error)
        finally:
            _close(events)
        if failure is not None:  # raised here, not in the except block: no raw error as its context
            raise failure
        if usage.total_tokens:
            yield StreamChunk("", usage)

    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamChunk]:
        """Async form of :meth:`stream`."""
        body = self.wire_body(request, stream=True)

        async def attempt() -> tuple[Any, AsyncIterator[Any], str, Usage]:
            events, usage, first = await self.transport.asend(body, self.connection()), Usage(), ""
            try:
                rest = aiter(events)
                async for event in rest:
                    if first := self.stream_delta(event, usage):
                        break
                return events, rest, self._first_text(first), usage
            except BaseException:
                await _aclose(events)
                raise

        events, rest, first, usage = await acall_with_retries(attempt, self.policy, self.classify, self.name)
        failure = None
        try:
            yield StreamChunk(first)
            async for event in rest:
                if text := self.stream_delta(event, usage):
                    yield StreamChunk(text)
        except Exception as error:
            failure = self._mid_stream_error(error)
        finally:
            await _aclose(events)
        if failure is not None:
            raise failure
        if usage.total_tokens:
            yield StreamChunk("", usage)


def _close(events: Any) -> None:
    close = getattr(events, "close", None)
    if callable(close):
        close()


async def _aclose(events: Any) -> None:
    close = getattr(events, "aclose", None) or getattr(events, "close", None)
    if callable(close) and inspect.isawaitable(result := close()):
        await result
