"""The async sender of byllm's Chat Completions transport: :mod:`byllm.providers.http1` over an asyncio protocol.

:class:`~byllm.providers.chat_completions.ChatCompletionsTransport` sends
``async`` calls here; synchronous ones go through
:mod:`byllm.providers.http1_sync`, with the same rules: keep-alive reuse, an
idle connection the server closed is dropped, a reused connection that fails
before any byte of the reply arrived is replaced once, a request must be
answered within ``timeout`` (a stream: connecting and every read), proxies from
the environment (``CONNECT`` then ``loop.start_tls`` for ``https``), and
certificates verified against the system's roots.

Pools: one :class:`~byllm.providers.http1.ConnectionPool` per base URL, key and
event loop (``asyncio.run`` makes a new loop each time, and a connection must
not outlive its loop), closed when the loop shuts down
(:func:`~byllm.providers.clients.cached_async_client`). A stream's connection
stops reading while the caller has not taken what arrived (``pause_reading``),
so a slow reader never buffers a whole stream.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import httptools

from byllm.providers import http1
from byllm.providers.chat_completions import ServerSentEvents, encode_body, error_body, reply_body
from byllm.providers.clients import cached_async_client
from byllm.providers.http1 import ConnectionPool, ReplyReader, Route, Unanswered
from byllm.providers.transport import Connection, ConnectionFailure, HTTPStatusFailure, TimeoutFailure, WireFailure

# A stream's connection pauses reading once this much of its body waits to be taken by the caller.
STREAM_BUFFER_LIMIT = 256 * 1024
# What a call waits for on its connection.
_HEADERS, _PIECES, _COMPLETE = 1, 2, 3


async def asend(body: dict[str, Any], connection: Connection) -> Any:
    """The reply (or an async iterator of stream events), sent from the running loop's pool."""
    route = http1.route_for(connection)
    pool = cached_async_client(route.pool_key, ConnectionPool)
    payload = encode_body(body)
    timeout = route.timeout
    if body.get("stream"):
        try:
            async with asyncio.timeout(timeout):  # connecting and the headers; then each read
                protocol = await _exchange(pool, route, payload, _HEADERS)
                if protocol.reader.status >= 400:
                    protocol.stop_streaming()
                    await _finish(protocol, _COMPLETE)
        except TimeoutError as error:
            raise TimeoutFailure(f"no answer within {timeout} s") from error
        if protocol.reader.status < 400:
            return server_sent_events(protocol, pool, timeout)
    else:
        try:
            async with asyncio.timeout(timeout):
                protocol = await _exchange(pool, route, payload, _COMPLETE)
        except TimeoutError as error:
            raise TimeoutFailure(f"no answer within {timeout} s") from error
    reader = protocol.reader
    status, headers, raw = reader.status, reader.headers, reader.take_body()
    pool.give_back(protocol)
    if status >= 400:
        raise HTTPStatusFailure(status, error_body(raw), headers)
    return reply_body(raw, headers.get("content-type"))


class ReplyProtocol(asyncio.Protocol):
    """One connection: writes requests, feeds what arrives to its :class:`ReplyReader`, wakes the waiting call."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.reader = ReplyReader()
        self.idle_since = 0.0
        self.transport: Any = None
        self.lost = False  # the server closed, or the connection failed
        self.answered = False  # a byte of the current reply arrived
        self.error: BaseException | None = None
        self.streaming = False
        self.paused = False
        self.tunnel_head: bytes | None = None  # the proxy's answer to CONNECT, while it is awaited
        self._waiter: asyncio.Future[None] | None = None
        self._until = 0

    # asyncio's callbacks
    def connection_made(self, transport: Any) -> None:
        """The connection is open (asyncio callback)."""
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        """Bytes from the server (asyncio callback): into the reader, then wake the call if it has what it waits for."""
        if self.tunnel_head is not None:
            self.tunnel_head += data
            if b"\r\n\r\n" in self.tunnel_head:
                self._wake()
            return
        self.answered = True
        try:
            self.reader.feed(data)
        except httptools.HttpParserError as error:
            self.error = error
            self.transport.close()
            self._wake()
            return
        if self.streaming and self.reader.buffered > STREAM_BUFFER_LIMIT and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        if self._waiter is not None and self._has(self._until):
            self._wake()

    def eof_received(self) -> bool:
        """The server closed its side (asyncio callback): a body running to the close ends here."""
        self.reader.feed_eof()
        self.lost = True
        self._wake()
        return False

    def connection_lost(self, error: Exception | None) -> None:
        """The connection closed (asyncio callback)."""
        self.lost = True
        self.reader.keep_alive = False
        if error is not None and self.error is None:
            self.error = error
        self._wake()

    # for the sender
    def is_open(self) -> bool:
        """Whether the connection is still usable (the server has not closed it)."""
        return not self.lost

    def close(self) -> None:
        """Close the connection (never raises)."""
        self.lost = True
        if self.transport is not None and not self.loop.is_closed():
            self.transport.close()

    def send(self, wire: bytes) -> None:
        """Write a request; the next reply starts unanswered."""
        self.answered = False
        self.transport.write(wire)

    async def wait_for(self, until: int) -> None:
        """Wait until the reader has the headers (``_HEADERS``), body pieces (``_PIECES``) or the whole reply.

        Raises :class:`Unanswered` when the connection ended before any byte of
        the reply arrived, the connection's error, or a ``ConnectionFailure``.
        """
        while not self._has(until):
            if self.error is not None:
                if not self.answered and isinstance(self.error, OSError):
                    raise Unanswered() from self.error
                raise self.error
            if self.lost:
                if not self.answered:
                    raise Unanswered()
                raise ConnectionFailure(http1.STREAM_CUT_OFF_MESSAGE if self.streaming else http1.CUT_OFF_MESSAGE)
            await self._woken(until)

    def stop_streaming(self) -> None:
        """Read on without pausing: the rest of the reply is wanted whole."""
        self.streaming = False
        if self.paused:
            self.paused = False
            self.transport.resume_reading()

    def take_pieces(self) -> list[bytes]:
        """The stream's body pieces that arrived, and reading resumed if it was paused for them."""
        if self.paused:
            self.paused = False
            self.transport.resume_reading()
        return self.reader.take_pieces()

    async def open_tunnel(self, route: Route) -> None:
        """Ask the proxy for a ``CONNECT`` tunnel to the route's server."""
        self.tunnel_head = b""
        self.transport.write(route.connect_request())
        while b"\r\n\r\n" not in self.tunnel_head:
            if self.lost:
                raise ConnectionFailure("the proxy closed the connection instead of opening a tunnel")
            await self._woken(-1)  # data_received wakes it when the head is in
        head, self.tunnel_head = self.tunnel_head, None
        http1.tunnel_status(head, route)

    async def _woken(self, until: int) -> None:
        """Sleep until a callback wakes the call (``until`` says what it waits for)."""
        self._until = until
        self._waiter = self.loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _has(self, until: int) -> bool:
        reader = self.reader
        if until == _COMPLETE:
            return reader.complete
        if until == _HEADERS:
            return reader.headers_done
        return bool(reader.pieces) or reader.complete

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


async def open_connection(route: Route) -> ReplyProtocol:
    """A new connection to the route's server (through its proxy, over TLS for https)."""
    loop = asyncio.get_running_loop()
    proxy = route.proxy
    host, port = proxy.address if proxy else route.address
    direct_tls = route.https and proxy is None
    _, protocol = await loop.create_connection(
        lambda: ReplyProtocol(loop), host, port,
        ssl=http1.tls_context() if direct_tls else None, server_hostname=route.host if direct_tls else None)
    if route.https and proxy is not None:
        try:
            await protocol.open_tunnel(route)
            protocol.transport = await loop.start_tls(protocol.transport, protocol, http1.tls_context(),
                                                      server_hostname=route.host)
        except BaseException:
            protocol.close()
            raise
    return protocol


async def _exchange(pool: ConnectionPool[ReplyProtocol], route: Route, payload: bytes, until: int) -> ReplyProtocol:
    """Send the request and wait for ``until``; a pooled connection failing unanswered is replaced once."""
    protocol = pool.take()
    while True:
        with http1.ExchangeAttempt(protocol, route.timeout) as attempt:
            if attempt.connection is None:
                attempt.connection = await open_connection(route)
            attempt.connection.streaming = until == _HEADERS
            attempt.connection.send(route.request(payload))
            await attempt.connection.wait_for(until)
            return attempt.connection
        protocol = None  # the reused connection had been closed: once more, on a fresh one


async def _finish(protocol: ReplyProtocol, until: int) -> None:
    """Wait for ``until`` on a connection that has answered; any failure closes it."""
    try:
        await protocol.wait_for(until)
    except http1.WIRE_ERRORS as error:
        protocol.close()
        raise http1.wire_failure(error, None, "while the reply was being read") from error
    except BaseException:
        protocol.close()
        raise


async def server_sent_events(protocol: ReplyProtocol, pool: ConnectionPool[ReplyProtocol],
                             timeout: float | None) -> AsyncIterator[Any]:
    """The decoded events of an SSE reply, up to ``[DONE]``; each read must finish within ``timeout``.

    The connection goes back to the pool after the reply's end, and is closed
    when the caller stops early or reading fails.
    """
    decoder = ServerSentEvents()
    reader = protocol.reader
    given_back = False
    try:
        while not decoder.done:
            pieces = protocol.take_pieces()
            for piece in pieces:
                for event in decoder.feed(piece):
                    yield event
                if decoder.done:
                    break
            if decoder.done:
                break
            if reader.complete:
                for event in decoder.end():
                    yield event
                break
            try:
                async with asyncio.timeout(timeout):
                    await _finish(protocol, _PIECES)
            except TimeoutError as error:
                raise TimeoutFailure(f"no stream event within {timeout} s") from error
        if decoder.done and not reader.complete:  # [DONE]: read the reply's end so the connection can be reused
            protocol.stop_streaming()
            try:
                async with asyncio.timeout(timeout):
                    await _finish(protocol, _COMPLETE)
            except (TimeoutError, WireFailure):
                return  # only the connection is lost: the finally closes it
        protocol.take_pieces()
        pool.give_back(protocol)
        given_back = True
    finally:
        if not given_back:
            protocol.close()


__all__ = ["ReplyProtocol", "STREAM_BUFFER_LIMIT", "asend", "open_connection", "server_sent_events"]
