"""The synchronous sender of byllm's Chat Completions transport: a keep-alive pool on h11 over sockets.

:class:`~byllm.providers.chat_completions.ChatCompletionsTransport` sends
synchronous calls here (plain ``by llm()`` functions, ``byllm.map``'s threads);
``async`` calls go through :mod:`byllm.providers.aiohttp_transport`. Chosen by
measurement (docs/benchmarks.md): importing h11 and ``socket`` costs about 55M
instructions where ``http.client`` costs 97M (it imports ``ssl`` and ``email``)
and aiohttp with asyncio over 1,000M, so a program's first call is not held up
by its HTTP client; ``ssl`` is imported only for an ``https`` URL. h11 parses
and frames HTTP/1.1; this module owns the sockets, the pool and the timeouts.

Pools: one :class:`ConnectionPool` per base URL and key (through
:func:`~byllm.providers.clients.cached_client`, so ``clear_clients`` closes it),
shared by every thread: a call takes an idle connection (or opens one), and gives
it back once the reply has been read to its end. An idle connection the server
has closed, or one idle longer than :data:`KEEPALIVE_SECONDS`, is dropped
instead of used; a reused connection that fails before any byte of the reply
arrived (the server closed it as the request went out) is replaced once by a
fresh one, so a server's keep-alive timeout never fails a call. A forked child
starts with empty pools.

Timeouts: a request must be answered and read within the connection's
``timeout``; a stream may last longer, but connecting and every read must each
finish within it (the aiohttp sender's semantics). Proxies come from
``HTTP(S)_PROXY`` / ``NO_PROXY`` (:func:`~byllm.providers.chat_completions.proxy_for`);
an ``https`` URL goes through an ``http://`` proxy as a ``CONNECT`` tunnel.
Certificates are verified against the system's trusted roots.
"""

from __future__ import annotations

import atexit
import os
import select
import socket
import threading
import time
import weakref
from typing import Any, Iterator

import h11

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
from byllm.providers.clients import cached_client, key_fingerprint
from byllm.providers.transport import Connection, ConnectionFailure, HTTPStatusFailure, TimeoutFailure

# aiohttp's default keep-alive: an idle connection older than this is closed rather than reused.
KEEPALIVE_SECONDS = 15.0
# Idle connections kept per pool (the aiohttp sender's connection limit); one is in use per call in flight.
MAX_IDLE = 1000
READ_SIZE = 65536


def send(body: dict[str, Any], connection: Connection) -> Any:
    """The reply to ``body`` (decoded JSON, or text), or an :class:`EventStream` when ``body["stream"]`` is true."""
    route = route_for(connection)
    pool = cached_client(route.pool_key, route.new_pool)
    payload = encode_body(body)
    streaming = bool(body.get("stream"))
    timeout = route.timeout
    deadline = None if timeout is None or streaming else time.monotonic() + timeout
    pooled, response = _exchange(pool, route, payload, deadline)
    status = response.status_code
    try:
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in response.headers}
        raw = None if streaming and status < 400 else _read_to_end(pooled, deadline, timeout)
    except (OSError, h11.ProtocolError) as error:
        pooled.close()
        raise _wire_failure(error, timeout, "while the reply was being read") from error
    except BaseException:
        pooled.close()
        raise
    if raw is None:
        return EventStream(pooled, pool, timeout)
    pool.give_back(pooled)
    if status >= 400:
        raise HTTPStatusFailure(status, error_body(raw), headers)
    return reply_body(raw, headers.get("content-type"))


# -- routes ------------------------------------------------------------------------------
# Route and Proxy are plain classes: a dataclass costs about 2.5M instructions to create, paid at start-up.
class Proxy:
    """An ``http://`` proxy: where to connect, and the ``Proxy-Authorization`` it wants (if any)."""

    __slots__ = ("address", "authorization")

    def __init__(self, address: tuple[bytes, int], authorization: bytes | None) -> None:
        self.address = address
        self.authorization = authorization


class Route:
    """Where the requests over one :class:`Connection` go and what they carry, worked out once per connection.

    ``host`` is the server's name (for its certificate); ``address`` is where to
    connect, the name as bytes (a str would load the IDNA codec to look it up);
    ``authority`` is ``host[:port]`` for the Host header and a CONNECT tunnel;
    ``target`` is the request target: the path, or the whole URL when an
    ``http://`` proxy forwards the request; ``headers`` are all but Content-Length.
    """

    __slots__ = ("https", "host", "address", "authority", "target", "headers", "proxy", "timeout", "pool_key")

    def __init__(self, *, https: bool, host: str, address: tuple[bytes, int], authority: bytes, target: bytes,
                 headers: tuple[tuple[bytes, bytes], ...], proxy: Proxy | None, timeout: float | None,
                 pool_key: tuple[str, str | None, str]) -> None:
        self.https, self.host, self.address, self.authority, self.target = https, host, address, authority, target
        self.headers, self.proxy, self.timeout, self.pool_key = headers, proxy, timeout, pool_key

    def new_pool(self) -> ConnectionPool:
        """An empty pool for this route's server."""
        return ConnectionPool()


def _new_route(connection: Connection) -> Route:
    from urllib.parse import unquote, urlsplit

    url = endpoint(connection)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise invalid_url(connection) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_url(connection)
    https = parts.scheme == "https"
    authority = _ascii_authority(parts.netloc.rpartition("@")[2], parts.hostname, port)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [(b"Host", authority)]
    headers += [(name.encode(), str(value).encode()) for name, value in request_headers(connection).items()]
    if parts.username is not None and not any(name.lower() == b"authorization" for name, _ in headers):
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers.append((b"Authorization", b"Basic " + _base64(credentials)))
    proxy = _proxy(proxy_for(url), connection)
    target = path.encode()
    if proxy is not None and not https:  # an http:// proxy forwards plain requests: it needs the whole URL
        target = b"http://" + authority + target
        if proxy.authorization:
            headers.append((b"Proxy-Authorization", proxy.authorization))
    address = (_ascii_host(parts.hostname), port or (443 if https else 80))
    return Route(https=https, host=parts.hostname, address=address, authority=authority,
                 target=target, headers=tuple(headers), proxy=proxy, timeout=connection.timeout,
                 pool_key=("h11", connection.base_url, key_fingerprint(connection.api_key)))


route_for = RouteCache(_new_route)  # the Route of a connection, built once


def _ascii_host(hostname: str) -> bytes:
    try:
        return hostname.encode("ascii")
    except UnicodeEncodeError:  # an internationalized host name is looked up in its IDNA form
        return hostname.encode("idna")


def _ascii_authority(netloc: str, hostname: str, port: int | None) -> bytes:
    try:
        return netloc.encode("ascii")
    except UnicodeEncodeError:  # an internationalized host name travels in its IDNA form
        return hostname.encode("idna") + (f":{port}".encode() if port else b"")


def _base64(text: str) -> bytes:
    import binascii

    return binascii.b2a_base64(text.encode(), newline=False)


def _proxy(url: str | None, connection: Connection) -> Proxy | None:
    if not url:
        return None
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port or 80
    except ValueError:
        port = 0
    if parts.scheme != "http" or not parts.hostname or not port:
        from byllm.redact import redact_url

        raise ConfigurationError(f"the proxy {redact_url(url)!r} for {redact_url(connection.base_url)!r} is not an "
                                 "http://host:port URL; byllm's transport speaks to http:// proxies only (fix "
                                 "HTTP_PROXY / HTTPS_PROXY, or add the host to NO_PROXY)")
    authorization = None
    if parts.username is not None:
        authorization = b"Basic " + _base64(f"{unquote(parts.username)}:{unquote(parts.password or '')}")
    return Proxy((_ascii_host(parts.hostname), port), authorization)


# -- connections and the pool --------------------------------------------------------------
class PooledConnection:
    """One socket to the server and its HTTP/1.1 state; used by one call at a time."""

    __slots__ = ("sock", "protocol", "idle_since")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.protocol = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0

    def close(self) -> None:
        """Close the socket (never raises)."""
        try:
            self.sock.close()
        except OSError:
            pass


class ConnectionPool:
    """Idle keep-alive connections to one server, shared by every thread (most recently used first)."""

    def __init__(self) -> None:
        self._idle: list[PooledConnection] = []
        self._lock = threading.Lock()
        _pools.add(self)

    def __len__(self) -> int:
        return len(self._idle)

    def take(self) -> PooledConnection | None:
        """An idle connection that still looks open, or ``None`` (closed and stale ones are dropped)."""
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._idle:
                    return None
                pooled = self._idle.pop()
            if now - pooled.idle_since < KEEPALIVE_SECONDS and not _readable(pooled.sock):
                return pooled
            pooled.close()  # the server closed it (EOF waits to be read), or it idled too long

    def give_back(self, pooled: PooledConnection) -> None:
        """Keep ``pooled`` for the next call if its exchange ended cleanly and both sides keep it open."""
        protocol = pooled.protocol
        if protocol.our_state is not h11.DONE or protocol.their_state is not h11.DONE:
            pooled.close()
            return
        protocol.start_next_cycle()
        pooled.idle_since = now = time.monotonic()
        expired = None
        with self._lock:
            if self._idle and now - self._idle[0].idle_since >= KEEPALIVE_SECONDS:
                expired = self._idle.pop(0)
            if len(self._idle) < MAX_IDLE:
                self._idle.append(pooled)
                pooled = None  # type: ignore[assignment]
        if expired is not None:
            expired.close()
        if pooled is not None:
            pooled.close()

    def close(self) -> None:
        """Close every idle connection (``clear_clients``, tests)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for pooled in idle:
            pooled.close()

    def forget(self) -> None:
        """In a forked child: drop the parent's connections unused (their sockets are the parent's)."""
        self._idle, self._lock = [], threading.Lock()


_pools: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()


def _readable(sock: socket.socket) -> bool:
    """Whether an idle socket has something to read: for a kept-alive connection, that is the server's close."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])


_tls_lock = threading.Lock()
_tls_context: Any = None


def tls_context() -> Any:
    """The process's TLS context: the system's trusted roots, hostname checks on (built once: loading the roots is slow)."""
    global _tls_context
    if _tls_context is None:
        with _tls_lock:
            if _tls_context is None:
                import ssl

                _tls_context = ssl.create_default_context()
    return _tls_context


def open_connection(route: Route, timeout: float | None) -> PooledConnection:
    """A new connection to the route's server (through its proxy, over TLS for https), within ``timeout``."""
    proxy = route.proxy
    sock = socket.create_connection(proxy.address if proxy else route.address, timeout=timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if route.https:
            if proxy is not None:
                _open_tunnel(sock, route)
            sock = tls_context().wrap_socket(sock, server_hostname=route.host)
    except BaseException:
        sock.close()
        raise
    return PooledConnection(sock)


def _open_tunnel(sock: socket.socket, route: Route) -> None:
    """Ask the proxy for a ``CONNECT`` tunnel to the route's server."""
    protocol = h11.Connection(h11.CLIENT)
    headers = [(b"Host", route.authority)]
    if route.proxy is not None and route.proxy.authorization:
        headers.append((b"Proxy-Authorization", route.proxy.authorization))
    sock.sendall(protocol.send(h11.Request(method=b"CONNECT", target=route.authority, headers=headers))
                 + protocol.send(h11.EndOfMessage()))
    while True:
        event = protocol.next_event()
        if event is h11.NEED_DATA:
            protocol.receive_data(sock.recv(READ_SIZE))
        elif type(event) is h11.Response:
            if 200 <= event.status_code < 300:
                return
            raise ConnectionFailure(f"the proxy refused a tunnel to {route.authority.decode()} "
                                    f"(HTTP {event.status_code})")
        elif type(event) is not h11.InformationalResponse:  # ConnectionClosed
            raise ConnectionFailure("the proxy closed the connection instead of opening a tunnel")


# -- one exchange ----------------------------------------------------------------------------
class _Unanswered(Exception):
    """The connection failed before any byte of the reply arrived (``__cause__``: the socket's error, if any)."""


def _exchange(pool: ConnectionPool, route: Route, payload: bytes, deadline: float | None) -> tuple[PooledConnection, Any]:
    """Send the request and read the reply's status and headers: the connection and h11's ``Response``.

    A pooled connection that fails before answering is replaced once by a new one.
    """
    timeout = route.timeout
    pooled = pool.take()
    while True:
        reused = pooled is not None
        try:
            if pooled is None:
                pooled = open_connection(route, _remaining(deadline, timeout))
            return pooled, _request(pooled, route, payload, deadline, timeout)
        except _Unanswered as unanswered:
            _close(pooled)
            if reused:
                pooled = None  # once, on a fresh connection
                continue
            raise ConnectionFailure("the server closed the connection without answering") from unanswered.__cause__
        except (OSError, h11.ProtocolError) as error:
            _close(pooled)
            raise _wire_failure(error, timeout, "before the reply arrived") from error
        except BaseException:
            _close(pooled)
            raise


def _close(pooled: PooledConnection | None) -> None:
    if pooled is not None:
        pooled.close()


def _request(pooled: PooledConnection, route: Route, payload: bytes, deadline: float | None,
             timeout: float | None) -> Any:
    """Send one POST on ``pooled`` and read up to the reply's headers (h11's ``Response``)."""
    protocol, sock = pooled.protocol, pooled.sock
    try:
        wire = (protocol.send(h11.Request(method=b"POST", target=route.target,
                                          headers=[*route.headers, (b"Content-Length", b"%d" % len(payload))]))
                + protocol.send(h11.Data(data=payload)) + protocol.send(h11.EndOfMessage()))
    except h11.LocalProtocolError as error:
        raise ConfigurationError(f"a request header is not valid HTTP ({error}); check Model(headers=...)") from None
    sock.settimeout(_remaining(deadline, timeout))
    try:
        sock.sendall(wire)
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as error:
        raise _Unanswered() from error
    answered = False
    while True:
        event = protocol.next_event()
        if event is h11.NEED_DATA:
            sock.settimeout(_remaining(deadline, timeout))
            try:
                data = sock.recv(READ_SIZE)
            except (ConnectionResetError, ConnectionAbortedError) as error:
                if answered:
                    raise
                raise _Unanswered() from error
            if not data and not answered:
                raise _Unanswered()
            answered = True
            protocol.receive_data(data)
        elif type(event) is h11.Response:
            return event
        elif type(event) is not h11.InformationalResponse:  # ConnectionClosed; 100 Continue is read past
            raise ConnectionFailure("the server closed the connection before the reply's headers")


def _read_to_end(pooled: PooledConnection, deadline: float | None, timeout: float | None) -> bytes:
    """The rest of the reply's body."""
    protocol, sock = pooled.protocol, pooled.sock
    chunks = []
    while True:
        event = protocol.next_event()
        kind = type(event)
        if kind is h11.Data:
            chunks.append(event.data)
        elif kind is h11.EndOfMessage:
            return b"".join(chunks)
        elif event is h11.NEED_DATA:
            sock.settimeout(_remaining(deadline, timeout))
            protocol.receive_data(sock.recv(READ_SIZE))
        else:  # ConnectionClosed
            raise ConnectionFailure("the server closed the connection before the reply was complete")


def _remaining(deadline: float | None, timeout: float | None) -> float | None:
    """The socket timeout for the next wait: what is left of the request's time (streams: ``timeout`` per wait)."""
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError()
    return left


def _wire_failure(error: BaseException, timeout: float | None, when: str) -> Exception:
    """The :class:`~byllm.providers.transport.WireFailure` a socket or h11 error stands for."""
    if isinstance(error, TimeoutError):
        return TimeoutFailure(f"no answer within {timeout} s")
    if isinstance(error, h11.ProtocolError):
        return ConnectionFailure(f"the server's reply is not valid HTTP/1.1 ({error})")
    return ConnectionFailure(f"the connection failed {when} ({type(error).__name__})")


# -- streams -----------------------------------------------------------------------------------
class EventStream:
    """A stream's events, read from its connection as the caller iterates.

    The connection goes back to the pool after the last event, or is closed when
    the caller stops early (:meth:`close`) or reading fails.
    """

    def __init__(self, pooled: PooledConnection, pool: ConnectionPool, timeout: float | None) -> None:
        self._pooled: PooledConnection | None = pooled
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

    def _read(self, pooled: PooledConnection) -> Iterator[Any]:
        protocol, sock, decoder = pooled.protocol, pooled.sock, ServerSentEvents()
        sock.settimeout(self._timeout)
        try:
            while not decoder.done:
                event = protocol.next_event()
                kind = type(event)
                if kind is h11.Data:
                    yield from decoder.feed(event.data)
                elif kind is h11.EndOfMessage:
                    yield from decoder.end()
                    break
                elif event is h11.NEED_DATA:
                    protocol.receive_data(sock.recv(READ_SIZE))
                else:  # ConnectionClosed
                    raise ConnectionFailure("the server closed the connection before the stream was complete")
            else:  # [DONE]: the reply's end follows at once; read it so the connection can be reused
                self._read_past_done(pooled)
        except (OSError, h11.ProtocolError) as error:
            self._drop()
            if isinstance(error, TimeoutError):
                raise TimeoutFailure(f"no stream event within {self._timeout} s") from error
            raise _wire_failure(error, self._timeout, "while the stream was being read") from error
        except BaseException:
            self._drop()
            raise
        if self._pooled is not None:
            self._pooled = None
            self._pool.give_back(pooled)

    def _read_past_done(self, pooled: PooledConnection) -> None:
        """Read to the end of a reply whose events are all in; a failure here only costs the connection."""
        protocol = pooled.protocol
        try:
            while type(event := protocol.next_event()) is not h11.EndOfMessage:
                if event is h11.NEED_DATA:
                    protocol.receive_data(pooled.sock.recv(READ_SIZE))
                elif type(event) is not h11.Data:
                    self._drop()
                    return
        except (OSError, h11.ProtocolError):
            self._drop()


def _close_pools() -> None:
    for pool in list(_pools):
        pool.close()


def _forget_pools_in_child() -> None:
    global _tls_lock
    _tls_lock = threading.Lock()  # another thread of the parent may have held it
    for pool in list(_pools):
        pool.forget()


atexit.register(_close_pools)  # idle sockets closed, not left to the garbage collector at exit


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_in_child)

__all__ = ["ConnectionPool", "EventStream", "KEEPALIVE_SECONDS", "Route", "open_connection", "route_for", "send",
           "tls_context"]
