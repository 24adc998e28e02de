"""The async sender of byllm's Chat Completions transport, on aiohttp.

:class:`~byllm.providers.chat_completions.ChatCompletionsTransport` sends
``async`` calls here; synchronous ones go through
:mod:`byllm.providers.h11_transport`. aiohttp was chosen by measurement
(docs/benchmarks.md): at 64 requests in flight its pool and parser cost a tenth
of the SDK's CPU per call, where httpx's async pool slows down as connections
are added.

Pools: one :class:`aiohttp.ClientSession` per base URL, key and event loop
(``asyncio.run`` makes a new loop each time, and a pool must not outlive its
loop). This module, asyncio and aiohttp are imported on the first async request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator

from byllm.errors import ConfigurationError
from byllm.providers.chat_completions import (
    RouteCache,
    ServerSentEvents,
    encode_body,
    endpoint,
    error_body,
    invalid_url,
    proxy_for,
    reply_body,
    request_headers,
)
from byllm.providers.clients import cached_async_client, key_fingerprint
from byllm.providers.transport import Connection, ConnectionFailure, HTTPStatusFailure, TimeoutFailure

# The openai SDK's own limit on open connections per client.
MAX_CONNECTIONS = 1000


async def asend(body: dict[str, Any], connection: Connection) -> Any:
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
                raise HTTPStatusFailure(response.status, error_body(await response.read()), response.headers)
        if streaming:
            return server_sent_events(response)
        async with response:
            raw = await response.read()
            content_type = response.headers.get("Content-Type")
    except aiohttp.InvalidURL:
        raise invalid_url(connection) from None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise wire_failure(error, connection.timeout) from error
    return reply_body(raw, content_type)


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


route_for = RouteCache(_new_route)  # the Route of a connection, built once


def wire_failure(error: BaseException, timeout: float | None) -> Exception:
    """The :class:`~byllm.providers.transport.WireFailure` an aiohttp or timeout error stands for."""
    if isinstance(error, TimeoutError):
        return TimeoutFailure(f"no answer within {timeout} s")
    if type(error).__name__ == "ClientPayloadError":
        return ConnectionFailure("the connection broke while the reply was being read")
    return ConnectionFailure(f"{type(error).__name__}")


async def server_sent_events(response: Any) -> AsyncIterator[Any]:
    """The decoded events of an SSE response, up to ``[DONE]`` (decoded by :class:`ServerSentEvents`).

    aiohttp reads a reset as the end of a body that runs to the connection's
    close, so a cut stream is told by its missing end (see :class:`ServerSentEvents`).
    """
    decoder = ServerSentEvents()
    try:
        async for block in response.content.iter_any():
            for event in decoder.feed(block):
                yield event
            if decoder.done:
                return
        for event in decoder.end():
            yield event
    except (_aiohttp().ClientError, TimeoutError) as error:
        raise wire_failure(error, None) from error
    finally:
        response.release()


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
            raise ConfigurationError("byllm's async HTTP transport needs aiohttp: pip install 'aiohttp>=3.9', or "
                                     "set BYLLM_TRANSPORT=sdk to send through the openai SDK") from None
        _aiohttp_module = aiohttp
    return _aiohttp_module


__all__ = ["MAX_CONNECTIONS", "Route", "asend", "route_for", "server_sent_events", "wire_failure"]
