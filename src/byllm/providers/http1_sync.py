"""The synchronous sender of byllm's Chat Completions transport: :mod:`byllm.providers.http1` over blocking sockets.

:class:`~byllm.providers.chat_completions.ChatCompletionsTransport` sends
synchronous calls here (plain ``by llm()`` functions, ``byllm.map``'s threads);
``async`` calls go through :mod:`byllm.providers.http1_async`. Nothing here
imports asyncio, and ``ssl`` is imported only for an ``https`` URL.

Pools: one :class:`~byllm.providers.http1.ConnectionPool` per base URL and key
(through :func:`~byllm.providers.clients.cached_client`, so ``clear_clients``
closes it), shared by every thread: a call takes an idle connection (or opens
one), and gives it back once the reply has been read to its end. An idle
connection the server has closed, or one idle longer than
:data:`~byllm.providers.http1.KEEPALIVE_SECONDS`, is dropped instead of used; a
reused connection that fails before any byte of the reply arrived (the server
closed it as the request went out) is replaced once by a fresh one, so a
server's keep-alive timeout never fails a call. A forked child starts with
empty pools; idle sockets are closed at exit.

Timeouts: a request must be answered and read within the connection's
``timeout``; a stream may last longer, but connecting and every read must each
finish within it. Proxies come from ``HTTP(S)_PROXY`` / ``NO_PROXY``; an
``https`` URL goes through an ``http://`` proxy as a ``CONNECT`` tunnel.
Certificates are verified against the system's trusted roots.
"""

from __future__ import annotations

import atexit
import os
import select
import socket
import time
import weakref
from typing import Any, Iterator

from byllm.providers import http1
from byllm.providers.chat_completions import ServerSentEvents, encode_body, error_body, reply_body
from byllm.providers.clients import cached_client
from byllm.providers.http1 import READ_SIZE, WIRE_ERRORS, ConnectionPool, ReplyReader, Route, Unanswered, wire_failure
from byllm.providers.transport import Connection, ConnectionFailure, HTTPStatusFailure, TimeoutFailure


def send(body: dict[str, Any], connection: Connection) -> Any:
    """The reply to ``body`` (decoded JSON, or text), or an :class:`EventStream` when ``body["stream"]`` is true."""
    route = http1.route_for(connection)
    pool = cached_client(route.pool_key, new_pool)
    streaming = bool(body.get("stream"))
    timeout = route.timeout
    deadline = None if timeout is None or streaming else time.monotonic() + timeout
    pooled = _exchange(pool, route, encode_body(body), deadline)
    reader = pooled.reader
    status, headers = reader.status, reader.headers
    if streaming and status < 400:
        return EventStream(pooled, pool, timeout)
    try:
        raw = _read_to_end(pooled, deadline, timeout)
    except WIRE_ERRORS as error:
        pooled.close()
        raise wire_failure(error, timeout, "while the reply was being read") from error
    except BaseException:
        pooled.close()
        raise
    pool.give_back(pooled)
    if status >= 400:
        raise HTTPStatusFailure(status, error_body(raw), headers)
    return reply_body(raw, headers.get("content-type"))


# -- connections and pools -------------------------------------------------------------------
class SocketConnection:
    """One socket to the server and its reply reader; used by one call at a time."""

    __slots__ = ("sock", "reader", "idle_since")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = ReplyReader()
        self.idle_since = 0.0

    def is_open(self) -> bool:
        """Whether the idle socket has nothing to read: for a kept-alive connection, something is the server's close."""
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            return not poller.poll(0)
        return not select.select([self.sock], [], [], 0)[0]

    def receive(self, timeout: float | None) -> bool:
        """Read what the server sent next into the reader; ``False`` when the server closed the connection."""
        self.sock.settimeout(timeout)
        data = self.sock.recv(READ_SIZE)
        if not data:
            self.reader.feed_eof()
            return False
        self.reader.feed(data)
        return True

    def close(self) -> None:
        """Close the socket (never raises)."""
        try:
            self.sock.close()
        except OSError:
            pass


_pools: weakref.WeakSet[ConnectionPool[SocketConnection]] = weakref.WeakSet()


def new_pool() -> ConnectionPool[SocketConnection]:
    """An empty pool, closed at exit and emptied in a forked child."""
    pool: ConnectionPool[SocketConnection] = ConnectionPool()
    _pools.add(pool)
    return pool


def open_connection(route: Route, timeout: float | None) -> SocketConnection:
    """A new connection to the route's server (through its proxy, over TLS for https), within ``timeout``."""
    proxy = route.proxy
    host, port = proxy.address if proxy else route.address
    # The host as ASCII bytes: a str would make the resolver load the IDNA codec (milliseconds at start-up).
    sock = socket.create_connection((host.encode("ascii"), port), timeout=timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if route.https:
            if proxy is not None:
                _open_tunnel(sock, route)
            sock = http1.tls_context().wrap_socket(sock, server_hostname=route.host)
    except BaseException:
        sock.close()
        raise
    return SocketConnection(sock)


def _open_tunnel(sock: socket.socket, route: Route) -> None:
    """Ask the proxy for a ``CONNECT`` tunnel to the route's server."""
    sock.sendall(route.connect_request())
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(READ_SIZE)
        if not data:
            raise ConnectionFailure("the proxy closed the connection instead of opening a tunnel")
        head += data
    http1.tunnel_status(head, route)


# -- one exchange ----------------------------------------------------------------------------
def _exchange(pool: ConnectionPool[SocketConnection], route: Route, payload: bytes,
              deadline: float | None) -> SocketConnection:
    """Send the request and read up to the reply's headers; a pooled connection failing unanswered is replaced once."""
    pooled = pool.take()
    while True:
        with http1.ExchangeAttempt(pooled, route.timeout) as attempt:
            if attempt.connection is None:
                attempt.connection = open_connection(route, _remaining(deadline, route.timeout))
            _request(attempt.connection, route.request(payload), deadline, route.timeout)
            return attempt.connection
        pooled = None  # the reused connection had been closed: once more, on a fresh one


def _request(pooled: SocketConnection, wire: bytes, deadline: float | None, timeout: float | None) -> None:
    """Send one request on ``pooled`` and read up to the reply's headers."""
    sock = pooled.sock
    sock.settimeout(_remaining(deadline, timeout))
    try:
        sock.sendall(wire)
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as error:
        raise Unanswered() from error
    try:
        if not pooled.receive(_remaining(deadline, timeout)):
            raise Unanswered()
    except (ConnectionResetError, ConnectionAbortedError) as error:
        raise Unanswered() from error
    while not pooled.reader.headers_done:
        if not pooled.receive(_remaining(deadline, timeout)):
            raise ConnectionFailure("the server closed the connection before the reply's headers")


def _read_to_end(pooled: SocketConnection, deadline: float | None, timeout: float | None) -> bytes:
    """The rest of the reply's body."""
    while not pooled.reader.complete:
        if not pooled.receive(_remaining(deadline, timeout)) and not pooled.reader.complete:
            raise ConnectionFailure(http1.CUT_OFF_MESSAGE)
    return pooled.reader.take_body()


def _remaining(deadline: float | None, timeout: float | None) -> float | None:
    """The socket timeout for the next wait: what is left of the request's time (streams: ``timeout`` per wait)."""
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError()
    return left


# -- streams -----------------------------------------------------------------------------------
class EventStream:
    """A stream's events, read from its connection as the caller iterates.

    The connection goes back to the pool after the last event, or is closed when
    the caller stops early (:meth:`close`) or reading fails.
    """

    def __init__(self, pooled: SocketConnection, pool: ConnectionPool[SocketConnection],
                 timeout: float | None) -> None:
        self._pooled: SocketConnection | None = pooled
        self._pool = pool
        self._timeout = timeout
        self._events = self._read(pooled)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return next(self._events)

    def close(self) -> None:
        """Stop reading; the connection, mid-reply, is closed."""
        self._events.close()
        self._drop()

    def _drop(self) -> None:
        pooled, self._pooled = self._pooled, None
        if pooled is not None:
            pooled.close()

    def _read(self, pooled: SocketConnection) -> Iterator[Any]:
        reader, decoder = pooled.reader, ServerSentEvents()
        try:
            while not decoder.done:
                for piece in reader.take_pieces():
                    yield from decoder.feed(piece)
                    if decoder.done:
                        break
                else:
                    if reader.complete:
                        yield from decoder.end()
                        break
                    if not pooled.receive(self._timeout) and not reader.complete:
                        raise ConnectionFailure(http1.STREAM_CUT_OFF_MESSAGE)
            else:  # [DONE]: the reply's end follows at once; read it so the connection can be reused
                self._read_past_done(pooled)
        except WIRE_ERRORS as error:
            self._drop()
            if isinstance(error, TimeoutError):
                raise TimeoutFailure(f"no stream event within {self._timeout} s") from error
            raise wire_failure(error, self._timeout, "while the stream was being read") from error
        except BaseException:
            self._drop()
            raise
        if self._pooled is not None:
            self._pooled = None
            self._pool.give_back(pooled)

    def _read_past_done(self, pooled: SocketConnection) -> None:
        """Read to the end of a reply whose events are all in; a failure here only costs the connection."""
        try:
            while not pooled.reader.complete and pooled.receive(self._timeout):
                pass
        except WIRE_ERRORS:
            self._drop()


def _close_pools() -> None:
    for pool in list(_pools):
        pool.close()


def _forget_pools_in_child() -> None:
    http1.forget_locks_in_child()
    for pool in list(_pools):
        pool.forget()


atexit.register(_close_pools)  # idle sockets closed, not left to the garbage collector at exit


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_in_child)

__all__ = ["EventStream", "SocketConnection", "new_pool", "open_connection", "send"]
