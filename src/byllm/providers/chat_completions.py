"""byllm's own transport for the OpenAI Chat Completions protocol: the wire format, shared by both senders.

Every OpenAI-compatible provider (OpenAI, the local and hosted presets, any
``base_url`` server) sends through :data:`CHAT_COMPLETIONS` unless
``BYLLM_TRANSPORT=sdk`` picks the ``openai`` SDK (docs/providers.md, *Transports*).
One HTTP/1.1 layer on httptools (:mod:`byllm.providers.http1`) carries the
bytes, driven two ways:

- synchronous calls (plain ``by llm()`` functions, ``byllm.map``'s threads) go
  through :mod:`byllm.providers.http1_sync`, a keep-alive pool over blocking
  sockets shared by every thread (a first call does not pay for asyncio);
- ``async`` calls go through :mod:`byllm.providers.http1_async`, an asyncio
  protocol with one pool per event loop.

This module holds what both share: the request body (the bytes the ``openai``
SDK sends: the fields the SDK names in the order it writes them, then the others
(``extra_params``) in their own order, as compact UTF-8 JSON), the headers, the
endpoint, the proxy from the environment and the server-sent-events decoder.
Neither sender is imported before its first request.
"""

from __future__ import annotations

import functools
import json
import os
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Callable, Generic, Iterator, TypeVar

from byllm.errors import ConfigurationError
from byllm.providers.transport import Connection, ConnectionFailure, HTTPStatusFailure

OPENAI_BASE_URL = "https://api.openai.com/v1"
USER_AGENT = "byllm"
# The openai SDK writes these fields first, then the others it names in alphabetical order.
_SDK_LEADING_FIELDS = ("model", "stream", "service_tier", "messages")
_SDK_NAMED_FIELDS = frozenset({
    "model", "stream", "service_tier", "messages", "audio", "frequency_penalty", "function_call", "functions",
    "logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "metadata", "modalities", "moderation", "n",
    "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key", "prompt_cache_options",
    "prompt_cache_retention", "reasoning_effort", "response_format", "safety_identifier", "seed", "stop", "store",
    "stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user", "verbosity",
    "web_search_options",
})


# The SDK's JSON settings (httpx's): compact, UTF-8 rather than \u escapes, NaN refused. Built once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_field_orders: dict[tuple[str, ...], tuple[str, ...]] = {}


def sdk_field_order(names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` in the order the openai SDK writes body fields (kept per set of names: bodies repeat)."""
    order = _field_orders.get(names)
    if order is None:
        leading = [name for name in _SDK_LEADING_FIELDS if name in names]
        named = sorted(name for name in names if name in _SDK_NAMED_FIELDS and name not in _SDK_LEADING_FIELDS)
        others = [name for name in names if name not in _SDK_NAMED_FIELDS]
        order = (*leading, *named, *others)
        if len(_field_orders) < 1024:  # a handful in practice; never unbounded
            _field_orders[names] = order
    return order


class EncodedJSON(dict):  # type: ignore[type-arg]
    """A dict sent with many requests and never changed (a return type's ``response_format``), with its JSON text.

    :func:`encode_body` splices the text in rather than encoding the dict again
    (about half the cost of encoding a typed call's body: 67k instructions a
    body before, 38k after, under callgrind); to every other reader it is the
    plain dict.
    """

    __slots__ = ("json_text",)

    def __init__(self, value: dict[str, Any]) -> None:
        super().__init__(value)
        self.json_text = "".join(_json_encoder()(self, 0))


def _json_encoder() -> Any:
    """What ``JSONEncoder.encode`` runs with the SDK's settings, without its two Python layers (one per body)."""
    if c_make_encoder is None:  # a Python without the _json accelerator
        return lambda value, level: (_ENCODER.encode(value),)
    return c_make_encoder({}, _ENCODER.default, encode_basestring, None, ":", ",", False, False, False)


_field_names: dict[str, str] = {}


def encode_body(body: dict[str, Any]) -> bytes:
    """``body`` as the JSON bytes the openai SDK would send: its field order, compact, UTF-8, no NaN."""
    encode = _json_encoder()
    fields = []
    for name in sdk_field_order(tuple(body)):
        value = body[name]
        prefix = _field_names.get(name)
        if prefix is None:
            prefix = "".join(encode(name, 0)) + ":"
            if len(_field_names) < 1024:
                _field_names[name] = prefix
        fields.append(prefix + (value.json_text if type(value) is EncodedJSON else "".join(encode(value, 0))))
    return ("{" + ",".join(fields) + "}").encode()


def request_headers(connection: Connection) -> dict[str, str]:
    """The HTTP headers of a request: JSON both ways, the key as a bearer token, then the connection's own."""
    headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": USER_AGENT}
    # Credentials in the URL (http://user:pass@host) are sent as basic auth instead, as httpx does.
    if connection.api_key and "@" not in (connection.base_url or "").partition("//")[2].partition("/")[0]:
        headers["Authorization"] = f"Bearer {connection.api_key}"
    headers.update(connection.headers)
    return headers


def endpoint(connection: Connection) -> str:
    """The chat completions URL under the connection's base URL (OpenAI's when none is set)."""
    return (connection.base_url or OPENAI_BASE_URL).rstrip("/") + "/chat/completions"


_json_media: dict[str | None, bool] = {}


def is_json(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` header names JSON (``application/json``, ``*/*+json``); kept per header value."""
    known = _json_media.get(content_type)
    if known is None:
        media = (content_type or "").partition(";")[0].strip().lower()
        known = media == "application/json" or media.endswith("+json")
        if len(_json_media) < 64:
            _json_media[content_type] = known
    return known


def reply_body(raw: bytes, content_type: str | None) -> Any:
    """A 2xx reply's body: decoded JSON when the server says it is JSON, else its text.

    Like the SDK: a JSON body that does not decode is an error (retried); any
    other body is returned as text, which the provider reports as not being a
    chat completion.
    """
    return json.loads(raw) if is_json(content_type) else raw.decode(errors="replace")


def error_body(raw: bytes) -> Any:
    """An error reply's body: decoded JSON, else its text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def invalid_url(connection: Connection) -> ConfigurationError:
    """The error for a base URL no request can be sent to."""
    from byllm.redact import redact_url

    return ConfigurationError(f"invalid base_url {redact_url(connection.base_url)!r}: use a URL such as "
                              "http://host:port/v1")


@functools.lru_cache(maxsize=64)
def proxy_for(url: str) -> str | None:
    """The proxy ``HTTP(S)_PROXY`` / ``NO_PROXY`` name for ``url``, as the SDK's httpx client honours them.

    Read once per URL (aiohttp's ``trust_env`` read the environment and ``.netrc``
    in a worker thread on every request, which doubled a call's cost).
    urllib.request (with http.client, email and ssl: about 60M instructions)
    is imported only when some ``*_proxy`` variable is set.
    """
    if not any(name[-6:].lower() == "_proxy" for name in os.environ):
        return None
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(url)
    if urllib.request.proxy_bypass_environment(parts.hostname or ""):
        return None
    return urllib.request.getproxies_environment().get(parts.scheme)


# -- server-sent events ----------------------------------------------------------------
Built = TypeVar("Built")


class RouteCache(Generic[Built]):
    """What a sender works out once per :class:`Connection` (URL, headers, timeouts, pool key).

    Providers hand the same connection object to every call until its key, URL,
    timeout or headers change, so entries are keyed by the connection's identity;
    the connection is kept in its entry, so its id cannot be reused while cached.
    """

    def __init__(self, build: Callable[[Connection], Built], limit: int = 256) -> None:
        self._build = build
        self._limit = limit
        self._entries: dict[int, tuple[Connection, Built]] = {}

    def __call__(self, connection: Connection) -> Built:
        """The route of ``connection``, built on its first use."""
        entry = self._entries.get(id(connection))
        if entry is not None and entry[0] is connection:
            return entry[1]
        route = self._build(connection)
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[id(connection)] = (connection, route)
        return route


class ServerSentEvents:
    """Decodes a Chat Completions SSE body, block by block, into its ``data:`` events (sans I/O).

    Both senders feed it what they read: :meth:`feed` yields the events a block
    completes, :meth:`end` those left when the body ends. ``[DONE]`` sets
    :attr:`done` (the sender stops reading); an ``error`` event is raised as an
    :class:`~byllm.providers.transport.HTTPStatusFailure` when reached. A body
    that ends before ``[DONE]`` and before any choice finished was cut off, so
    :meth:`end` raises a :class:`~byllm.providers.transport.ConnectionFailure`.
    """

    __slots__ = ("done", "_finished", "_pending", "_data")

    def __init__(self) -> None:
        self.done = False
        self._finished = False
        self._pending = b""
        self._data: list[str] = []

    def feed(self, block: bytes) -> Iterator[Any]:
        """The events ``block`` completes, in order (lazily: an error event is raised when reached)."""
        pending = self._pending + block if self._pending else block
        start = 0
        while not self.done and (end := pending.find(b"\n", start)) >= 0:
            line = pending[start:end].rstrip(b"\r").decode()
            start = end + 1
            if line:
                field, _, value = line.partition(":")
                if field == "data":
                    self._data.append(value[1:] if value.startswith(" ") else value)
                continue
            if self._data:
                text = self._flush()
                if text is None:
                    break
                yield self._event(text)
        self._pending = pending[start:]

    def end(self) -> Iterator[Any]:
        """The event left unterminated when the body ended, if any; then whether the stream was complete."""
        if self.done:
            return
        if self._data:
            text = self._flush()
            if text is None:
                return
            yield self._event(text)
        if not self._finished:
            raise ConnectionFailure("the stream ended before the reply was complete (no finish_reason, no [DONE])")

    def _flush(self) -> str | None:
        """The data lines gathered so far, as one event's text; ``None`` (and :attr:`done`) for ``[DONE]``."""
        text, self._data = "\n".join(self._data), []
        if text == "[DONE]":
            self.done = True
            return None
        return text

    def _event(self, text: str) -> Any:
        event = json.loads(text)
        if isinstance(event, dict):
            if event.get("error"):  # the server failed mid-stream
                raise HTTPStatusFailure(None, event, {})
            if not self._finished:
                choices = event.get("choices")
                self._finished = bool(choices) and any(
                    isinstance(choice, dict) and choice.get("finish_reason") for choice in choices)
        return event


# -- the transport -----------------------------------------------------------------------
class ChatCompletionsTransport:
    """Sends Chat Completions bodies; replies and stream events come back as plain dicts.

    ``send`` uses the shared synchronous pool (:mod:`byllm.providers.http1_sync`),
    ``asend`` the running event loop's pool (:mod:`byllm.providers.http1_async`). ``package`` and ``method``
    name the SDK call this transport stands in for, so code asking whether a
    provider speaks that protocol (batch jobs) sees that it does.
    """

    package = "openai"
    method = "chat.completions.create"

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def send(self, body: dict[str, Any], connection: Connection) -> Any:
        """The reply (or an iterator of stream events), sent from the process's shared synchronous pool."""
        return _senders().send(body, connection)

    async def asend(self, body: dict[str, Any], connection: Connection) -> Any:
        """The reply (or an async iterator of stream events), sent from the running loop's pool."""
        return await _async_senders().asend(body, connection)


_sync_sender: Any = None
_async_sender: Any = None


def _senders() -> Any:
    """:mod:`byllm.providers.http1_sync`, imported on the first synchronous request."""
    global _sync_sender
    if _sync_sender is None:
        from byllm.providers import http1_sync

        _sync_sender = http1_sync
    return _sync_sender


def _async_senders() -> Any:
    """:mod:`byllm.providers.http1_async` (and asyncio), imported on the first async request."""
    global _async_sender
    if _async_sender is None:
        from byllm.providers import http1_async

        _async_sender = http1_async
    return _async_sender


CHAT_COMPLETIONS = ChatCompletionsTransport()

__all__ = ["CHAT_COMPLETIONS", "ChatCompletionsTransport", "EncodedJSON", "ServerSentEvents", "encode_body",
           "endpoint", "error_body", "is_json", "proxy_for", "reply_body", "request_headers", "sdk_field_order"]
