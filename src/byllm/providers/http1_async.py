"""The async sender of byllm's Chat Completions transport: :mod:`byllm.providers.http1` over an asyncio protocol.

:class:`~byllm.providers.chat_completions.ChatCompletionsTransport` sends
``async`` calls here; synchronous ones go through
:mod:`byllm.providers.http1_sync`, with the same rules: keep-alive reuse, an
idle connection the server closed is dropped, a reused connection that fails
before any byte of the reply arrived is replaced once, a request must be
answered within ``timeout`` (a stream: connecting and every read), proxies from
the environment (``CONNECT`` then ``loop.start_tls`` for ``https``), and
certificates verified against the system's roots.

Pools: one :class:`LoopPool` per base URL, key and event loop (``asyncio.run``
makes a new loop each time, and a connection must not outlive its loop), closed
when the loop shuts down (:func:`~byllm.providers.clients.cached_async_client`),
with one timer for the deadlines of its waiting calls (:class:`Deadlines`). A stream's connection
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
    pool = cached_async_client(route.pool_key, LoopPool)
    payload = encode_body(body)
    timeout = route.timeout
    deadline = pool.deadlines.after(timeout)  # connecting and the whole reply; for a stream its headers, then each read
    if body.get("stream"):
        protocol = await _exchange(pool, route, payload, _HEADERS, deadline)
        if protocol.reader.status < 400:
            return server_sent_events(protocol, pool, timeout)
        protocol.stop_streaming()
        await _finish(protocol, _COMPLETE, deadline, f"no answer within {timeout} s")
    else:
        protocol = await _exchange(pool, route, payload, _COMPLETE, deadline)
    reader = protocol.reader
    status, headers, raw = reader.status, reader.headers, reader.take_body()
    pool.give_back(protocol)
    if status >= 400:
        raise HTTPStatusFailure(status, error_body(raw), headers)
    return reply_body(raw, headers.get("content-type"))


class Deadlines:
    """When the calls waiting on one event loop's connections must be answered, kept with one timer.

    ``asyncio.timeout`` around each request schedules and cancels a timer per
    request, and with 64 requests in flight the loop's timer heap made that about
    50 µs of CPU a call (as much as the rest of the transport). Here a waiting
    call notes its deadline, and one timer, set for the earliest, times out the
    connections whose deadline has passed.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: dict[ReplyProtocol, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")

    def after(self, timeout: float | None) -> float | None:
        """The deadline ``timeout`` seconds from now on the loop's clock (``None``: no deadline)."""
        return None if timeout is None else self._loop.time() + timeout

    def watch(self, protocol: ReplyProtocol, deadline: float) -> None:
        """Time out ``protocol``'s wait at ``deadline`` unless :meth:`forget` comes first."""
        self._waiting[protocol] = deadline
        if deadline < self._timer_at:
            self._set_timer(deadline)

    def forget(self, protocol: ReplyProtocol) -> None:
        """``protocol``'s wait is over."""
        self._waiting.pop(protocol, None)

    def _set_timer(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._expire)

    def _expire(self) -> None:
        self._timer, self._timer_at = None, float("inf")
        now = self._loop.time() + 0.001  # the loop runs a timer up to its clock's resolution early
        for protocol, deadline in list(self._waiting.items()):
            if deadline <= now:
                del self._waiting[protocol]
                protocol.time_out()
        if self._waiting:
            self._set_timer(min(self._waiting.values()))


class LoopPool(ConnectionPool["ReplyProtocol"]):
    """One event loop's idle connections to one server, and the deadlines of the calls waiting on them."""

    def __init__(self) -> None:
        super().__init__()
        self.deadlines = Deadlines(asyncio.get_running_loop())


class ReplyProtocol(asyncio.Protocol):
    """One connection: writes requests, feeds what arrives to its :class:`ReplyReader`, wakes the waiting call."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deadlines: Deadlines) -> None:
        self.loop = loop
        self.deadlines = deadlines
        self.reader = ReplyReader()
        self.idle_since = 0.0
        self.transport: Any = None
        self.lost = False  # the server closed, or the connection failed
        self.answered = False  # a byte of the current reply arrived
        self.timed_out = False  # the current wait passed its deadline
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

    async def wait_for(self, until: int, deadline: float | None = None) -> None:
        """Wait until the reader has the headers (``_HEADERS``), body pieces (``_PIECES``) or the whole reply.

        Raises ``TimeoutError`` once the loop's clock passes ``deadline``,
        :class:`Unanswered` when the connection ended before any byte of the
        reply arrived, the connection's error, or a ``ConnectionFailure``.
        """
        if self._has(until):
            return
        if deadline is not None:
            self.timed_out = False
            self.deadlines.watch(self, deadline)
        try:
            while not self._has(until):
                if self.timed_out:
                    raise TimeoutError()
                if self.error is not None:
                    if not self.answered and isinstance(self.error, OSError):
                        raise Unanswered() from self.error
                    raise self.error
                if self.lost:
                    if not self.answered:
                        raise Unanswered()
                    raise ConnectionFailure(http1.STREAM_CUT_OFF_MESSAGE if self.streaming else http1.CUT_OFF_MESSAGE)
                await self._woken(until)
        finally:
            if deadline is not None:
                self.deadlines.forget(self)

    def time_out(self) -> None:
        """The wait's deadline has passed (:class:`Deadlines`): wake the call to fail."""
        self.timed_out = True
        self._wake()

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


async def open_connection(route: Route, deadlines: Deadlines) -> ReplyProtocol:
    """A new connection to the route's server (through its proxy, over TLS for https)."""
    loop = asyncio.get_running_loop()
    proxy = route.proxy
    host, port = proxy.address if proxy else route.address
    direct_tls = route.https and proxy is None
    _, protocol = await loop.create_connection(
        lambda: ReplyProtocol(loop, deadlines), host, port,
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


async def _exchange(pool: LoopPool, route: Route, payload: bytes, until: int, deadline: float | None) -> ReplyProtocol:
    """Send the request and wait for ``until`` by ``deadline``; a pooled connection failing unanswered is replaced once."""
    protocol = pool.take()
    while True:
        with http1.ExchangeAttempt(protocol, route.timeout) as attempt:
            if attempt.connection is None:
                async with asyncio.timeout_at(deadline):  # only a new connection: one timer, not one per request
                    attempt.connection = await open_connection(route, pool.deadlines)
            attempt.connection.streaming = until == _HEADERS
            attempt.connection.send(route.request(payload))
            await attempt.connection.wait_for(until, deadline)
            return attempt.connection
        protocol = None  # the reused connection had been closed: once more, on a fresh one


async def _finish(protocol: ReplyProtocol, until: int, deadline: float | None, late: str) -> None:
    """Wait for ``until`` on a connection that has answered; any failure closes it (``late``: the timeout's message)."""
    try:
        await protocol.wait_for(until, deadline)
    except TimeoutError as error:
        protocol.close()
        raise TimeoutFailure(late) from error
    except http1.WIRE_ERRORS as error:
        protocol.close()
        raise http1.wire_failure(error, None, "while the reply was being read") from error
    except BaseException:
        protocol.close()
        raise


async def server_sent_events(protocol: ReplyProtocol, pool: LoopPool, timeout: float | None) -> AsyncIterator[Any]:
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
            await _finish(protocol, _PIECES, pool.deadlines.after(timeout), f"no stream event within {timeout} s")
        if decoder.done and not reader.complete:  # [DONE]: read the reply's end so the connection can be reused
            protocol.stop_streaming()
            try:
                await _finish(protocol, _COMPLETE, pool.deadlines.after(timeout), f"no stream end within {timeout} s")
            except WireFailure:
                return  # only the connection is lost: the finally closes it
        protocol.take_pieces()
        pool.give_back(protocol)
        given_back = True
    finally:
        if not given_back:
            protocol.close()


__all__ = ["Deadlines", "LoopPool", "ReplyProtocol", "STREAM_BUFFER_LIMIT", "asend", "open_connection", "server_sent_events"]
