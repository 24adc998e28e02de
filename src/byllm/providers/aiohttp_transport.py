"""byllm's own transport for the OpenAI Chat Completions protocol, on aiohttp.

Every OpenAI-compatible provider (OpenAI, the local and hosted presets, any
``base_url`` server) sends through :data:`CHAT_COMPLETIONS` unless
``BYLLM_TRANSPORT=sdk`` picks the ``openai`` SDK (docs/providers.md, *Transports*).
aiohttp was chosen by measurement (docs/benchmarks.md): at 64 requests in flight
its pool and parser cost a tenth of the SDK's CPU per call, where httpx's async
pool slows down as connections are added.

Pools: one :class:`aiohttp.ClientSession` per base URL, key and event loop.
``async`` calls use their running loop's; synchronous calls, from every thread,
are run on the one background loop of
:func:`byllm.providers.clients.background_loop`, so ``byllm.map``'s threads
share a single pool. aiohttp is imported on the first request, not with byllm.

The request body is the bytes the ``openai`` SDK sends for the same wire body:
the fields the SDK names in the order it writes them, then the others
(``extra_params``) in their own order, as compact UTF-8 JSON.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, AsyncIterator, Iterator

from byllm.errors import ConfigurationError
from byllm.providers.clients import BackgroundLoop, background_loop, cached_async_client, key_fingerprint
from byllm.providers.transport import Connection, ConnectionFailure, HTTPStatusFailure, TimeoutFailure
from byllm.redact import redact_url

OPENAI_BASE_URL = "https://api.openai.com/v1"
# The openai SDK's own limit on open connections per client.
MAX_CONNECTIONS = 1000
USER_AGENT = "byllm (aiohttp)"
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


class ChatCompletionsTransport:
    """Sends Chat Completions bodies over aiohttp; replies and stream events come back as plain dicts.

    ``package`` and ``method`` name the SDK call this transport stands in for,
    so code asking whether a provider speaks that protocol (batch jobs) sees that it does.
    """

    package = "openai"
    method = "chat.completions.create"

    def __init__(self, loop: BackgroundLoop | None = None) -> None:
        self._loop = loop

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def send(self, body: dict[str, Any], connection: Connection) -> Any:
        """The reply (or an iterator of stream events), sent from the background loop's shared pool."""
        loop = self._loop or background_loop()
        result = loop.run(self.asend(body, connection))
        return SyncEvents(result, loop) if body.get("stream") else result

    async def asend(self, body: dict[str, Any], connection: Connection) -> Any:
        """The reply (or an async iterator of stream events), sent from the running loop's pool."""
        aiohttp = _aiohttp()
        route = route_for(connection)
        session = cached_async_client(route.pool_key, _new_session)
        streaming = bool(body.get("stream"))
        try:
            response = await session.post(route.url, data=encode_body(body), headers=route.headers,
                                          timeout=route.stream_timeout if streaming else route.timeout,
                                          proxy=route.proxy)
            if response.status >= 400:
                async with response:
                    raise HTTPStatusFailure(response.status, _error_body(await response.read()), response.headers)
            if streaming:
                return server_sent_events(response)
            async with response:
                raw = await response.read()
                is_json = _is_json(response.headers.get("Content-Type"))
        except aiohttp.InvalidURL:
            raise ConfigurationError(f"invalid base_url {redact_url(connection.base_url)!r}: use a URL such as "
                                     "http://host:port/v1") from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise wire_failure(error, connection.timeout) from error
        # Like the SDK: a JSON body that does not decode is an error (retried); any other body is
        # returned as text, which the provider reports as not being a chat completion.
        return json.loads(raw) if is_json else raw.decode(errors="replace")


@dataclass(frozen=True)
class Route:
    """What every request over one :class:`Connection` shares, worked out once.

    The parsed URL, the headers (as aiohttp's own multidict), both timeouts, the
    proxy and the pool's key were built again for every request before.
    """

    url: Any  # a yarl.URL (or the text, when it does not parse: aiohttp then reports it)
    headers: Any  # a read-only CIMultiDict
    timeout: Any
    stream_timeout: Any
    proxy: str | None
    pool_key: tuple[str, str | None, str]


# Keyed by the connection's id; the connection is kept in the entry, so its id cannot be reused while cached.
# Providers hand the same Connection to every call until its key, URL, timeout or headers change.
_routes: dict[int, tuple[Connection, Route]] = {}
MAX_ROUTES = 256


def route_for(connection: Connection) -> Route:
    """The :class:`Route` of ``connection`` (cached while the same connection object is used)."""
    entry = _routes.get(id(connection))
    if entry is not None and entry[0] is connection:
        return entry[1]
    route = _new_route(connection)
    if len(_routes) >= MAX_ROUTES:
        _routes.clear()
    _routes[id(connection)] = (connection, route)
    return route


def _new_route(connection: Connection) -> Route:
    from multidict import CIMultiDict, CIMultiDictProxy
    from yarl import URL

    text = endpoint(connection)
    try:
        url: Any = URL(text)
    except ValueError:
        url = text
    return Route(url=url, headers=CIMultiDictProxy(CIMultiDict(request_headers(connection))),
                 timeout=_timeout(connection.timeout, False), stream_timeout=_timeout(connection.timeout, True),
                 proxy=proxy_for(text),
                 pool_key=("aiohttp", connection.base_url, key_fingerprint(connection.api_key)))


_json_media: dict[str | None, bool] = {}


def _is_json(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` header names JSON (``application/json``, ``*/*+json``); kept per header value."""
    known = _json_media.get(content_type)
    if known is None:
        media = (content_type or "").partition(";")[0].strip().lower()
        known = media == "application/json" or media.endswith("+json")
        if len(_json_media) < 64:
            _json_media[content_type] = known
    return known


def wire_failure(error: BaseException, timeout: float | None) -> Exception:
    """The :class:`~byllm.providers.transport.WireFailure` an aiohttp or timeout error stands for."""
    if isinstance(error, TimeoutError):
        return TimeoutFailure(f"no answer within {timeout} s")
    if type(error).__name__ == "ClientPayloadError":
        return ConnectionFailure("the connection broke while the reply was being read")
    return ConnectionFailure(f"{type(error).__name__}")


class SyncEvents:
    """A synchronous iterator over a stream read on the background loop (one hop per event)."""

    def __init__(self, events: AsyncIterator[Any], loop: BackgroundLoop) -> None:
        self._events = events
        self._loop = loop

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return self._loop.run(self._events.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        """Stop reading and give the connection back."""
        self._loop.run(self._events.aclose())  # type: ignore[attr-defined]


async def server_sent_events(response: Any) -> AsyncIterator[Any]:
    """The decoded ``data:`` events of an SSE response, up to ``[DONE]``; an ``error`` event is raised.

    A stream that stops before ``[DONE]`` and before any choice finished was cut
    off (aiohttp reads a reset as the end of a body that runs to the connection's
    close), so it is a :class:`~byllm.providers.transport.ConnectionFailure`.
    """
    data: list[str] = []
    pending = b""
    finished = False
    try:
        async for block in response.content.iter_any():
            pending += block
            while (end := pending.find(b"\n")) >= 0:
                line, pending = pending[:end].rstrip(b"\r").decode(), pending[end + 1:]
                if line:
                    field, _, value = line.partition(":")
                    if field == "data":
                        data.append(value[1:] if value.startswith(" ") else value)
                    continue
                if not data:
                    continue
                text, data = "\n".join(data), []
                if text == "[DONE]":
                    return
                event = _stream_event(text)
                finished = finished or _finishes(event)
                yield event
        if data and (text := "\n".join(data)) != "[DONE]":
            event = _stream_event(text)
            finished = finished or _finishes(event)
            yield event
        elif data:
            return
        if not finished:
            raise ConnectionFailure("the stream ended before the reply was complete (no finish_reason, no [DONE])")
    except (_aiohttp().ClientError, TimeoutError) as error:
        raise wire_failure(error, None) from error
    finally:
        response.release()


def _stream_event(text: str) -> Any:
    event = json.loads(text)
    if isinstance(event, dict) and event.get("error"):  # the server failed mid-stream
        raise HTTPStatusFailure(None, event, {})
    return event


def _finishes(event: Any) -> bool:
    """Whether a stream event ends a choice (carries a ``finish_reason``)."""
    choices = event.get("choices") if isinstance(event, dict) else None
    return bool(choices) and any(isinstance(choice, dict) and choice.get("finish_reason") for choice in choices)


def _error_body(raw: bytes) -> Any:
    """An error reply's body: decoded JSON, else its text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


_timeouts: dict[tuple[float | None, bool], Any] = {}


def _timeout(seconds: float | None, streaming: bool) -> Any:
    """A whole request within ``seconds``; a stream may last longer, but no read may wait more than that."""
    timeout = _timeouts.get((seconds, streaming))
    if timeout is None:
        aiohttp = _aiohttp()
        if streaming:
            timeout = aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)
        else:
            timeout = aiohttp.ClientTimeout(total=seconds)
        _timeouts[(seconds, streaming)] = timeout
    return timeout


@functools.lru_cache(maxsize=64)
def proxy_for(url: str) -> str | None:
    """The proxy ``HTTP(S)_PROXY`` / ``NO_PROXY`` name for ``url``, as the SDK's httpx client honours them.

    Read once per URL: aiohttp's own ``trust_env`` reads the environment and
    ``.netrc`` in a worker thread on every request, which doubled a call's cost.
    """
    import urllib.parse
    import urllib.request  # with http.client: imported on the first request, not with byllm

    parts = urllib.parse.urlsplit(url)
    if urllib.request.proxy_bypass_environment(parts.hostname or ""):
        return None
    return urllib.request.getproxies_environment().get(parts.scheme)


def _new_session() -> Any:
    aiohttp = _aiohttp()
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS))


_aiohttp_module: Any = None


def _aiohttp() -> Any:
    """The aiohttp module, imported on the first request (not with byllm)."""
    global _aiohttp_module
    if _aiohttp_module is None:
        try:
            import aiohttp
        except ImportError:  # a dependency of byllm, so only a broken install gets here
            raise ConfigurationError("byllm's HTTP transport needs aiohttp: pip install 'aiohttp>=3.9', or set "
                                     "BYLLM_TRANSPORT=sdk to send through the openai SDK") from None
        _aiohttp_module = aiohttp
    return _aiohttp_module


CHAT_COMPLETIONS = ChatCompletionsTransport()

__all__ = ["CHAT_COMPLETIONS", "ChatCompletionsTransport", "EncodedJSON", "Route", "SyncEvents", "encode_body",
           "endpoint", "request_headers", "route_for", "server_sent_events", "wire_failure"]
