"""byllm's HTTP/1.1 layer, independent of I/O: routes, request bytes, the reply reader and the pool.

Both senders of the Chat Completions transport use it:
:mod:`byllm.providers.http1_sync` drives it over blocking sockets (plain ``by
llm()`` functions, ``byllm.map``'s threads), :mod:`byllm.providers.http1_async`
over an :class:`asyncio.Protocol` (``async`` calls). Replies are parsed by
httptools (MagicStack's binding of llhttp, the parser under uvicorn and
Node.js), chosen by measurement: at 64 requests in flight on loopback a protocol
on httptools costs 0.28 ms of client CPU per call where a bare aiohttp session
costs 0.64-0.72 ms and h11 0.50-0.55 ms, and it imports in about 22 ms where
aiohttp takes 330-390 ms (docs/providers.md, *Transports*).

What is worked out once per connection settings (:class:`Route`): where to
connect, the proxy, and the request's head as bytes up to ``Content-Length``;
a request is then ``head + length + body``. :class:`ReplyReader` collects one
reply (status, headers, body pieces) from whatever bytes arrive.
:class:`ConnectionPool` keeps idle keep-alive connections of either kind.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Generic, Protocol, TypeVar

import httptools

from byllm.errors import ConfigurationError
from byllm.providers.chat_completions import RouteCache, endpoint, invalid_url, proxy_for, request_headers
from byllm.providers.clients import key_identity
from byllm.providers.transport import Connection, ConnectionFailure, TimeoutFailure

# aiohttp's default keep-alive: an idle connection older than this is closed rather than reused.
KEEPALIVE_SECONDS = 15.0
# Idle connections kept per pool (the openai SDK's connection limit); one is in use per call in flight.
MAX_IDLE = 1000
READ_SIZE = 65536
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FORBIDDEN_IN_VALUES = re.compile(rb"[\r\n\0]")


# -- routes ------------------------------------------------------------------------------
# Route and Proxy are plain classes: a dataclass costs about 2.5M instructions to create, paid at start-up.
class Proxy:
    """An ``http://`` proxy: where to connect, and the ``Proxy-Authorization`` it wants (if any)."""

    __slots__ = ("address", "authorization")

    def __init__(self, address: tuple[str, int], authorization: bytes | None) -> None:
        self.address = address
        self.authorization = authorization


class Route:
    """Where the requests over one :class:`Connection` go and what they carry, worked out once per connection.

    ``host`` is the server's name (for its certificate); ``address`` is where to
    connect (the name in its ASCII / IDNA form); ``authority`` is ``host[:port]``
    for the Host header (``tunnel``, always with the port, for a CONNECT); ``head`` is the request up to the
    value of ``Content-Length``: request line (the path, or the whole URL when an
    ``http://`` proxy forwards the request) and headers.
    """

    __slots__ = ("https", "host", "address", "authority", "tunnel", "head", "proxy", "timeout", "pool_key")

    def __init__(self, *, https: bool, host: str, address: tuple[str, int], authority: bytes, head: bytes,
                 proxy: Proxy | None, timeout: float | None, pool_key: tuple[str, str | None, str]) -> None:
        self.https, self.host, self.address, self.authority, self.head = https, host, address, authority, head
        self.proxy, self.timeout, self.pool_key = proxy, timeout, pool_key
        self.tunnel = authority if authority.rpartition(b"]")[2].count(b":") else b"%s:%d" % (authority, address[1])

    def request(self, payload: bytes) -> bytes:
        """The whole POST of ``payload``: head, length, body."""
        return self.head + b"%d\r\n\r\n" % len(payload) + payload

    def connect_request(self) -> bytes:
        """The ``CONNECT`` request asking the proxy for a tunnel to the server."""
        lines = [b"CONNECT " + self.tunnel + b" HTTP/1.1", b"Host: " + self.tunnel]
        if self.proxy is not None and self.proxy.authorization:
            lines.append(b"Proxy-Authorization: " + self.proxy.authorization)
        return b"\r\n".join(lines) + b"\r\n\r\n"


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
    lines = [b"POST " + target + b" HTTP/1.1"]
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _FORBIDDEN_IN_VALUES.search(value):
            raise ConfigurationError(f"the request header {name.decode(errors='replace')!r} is not valid HTTP "
                                     "(a name must be a token, a value must not hold CR, LF or NUL); check "
                                     "Model(headers=...)")
        lines.append(name + b": " + value)
    lines.append(b"Content-Length: ")
    address = (_ascii_host(parts.hostname), port or (443 if https else 80))
    return Route(https=https, host=parts.hostname, address=address,
                 authority=authority, head=b"\r\n".join(lines), proxy=proxy, timeout=connection.timeout,
                 pool_key=("http1", connection.base_url, key_identity(connection.api_key)))


route_for = RouteCache(_new_route)  # the Route of a connection, built once


def _ascii_host(hostname: str) -> str:
    try:
        hostname.encode("ascii")
        return hostname
    except UnicodeEncodeError:  # an internationalized host name is looked up in its IDNA form
        return hostname.encode("idna").decode("ascii")


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


def tunnel_status(head: bytes, route: Route) -> None:
    """Check a proxy's answer to ``CONNECT`` (its head, up to the blank line): a 2xx opens the tunnel.

    Read by hand rather than by the reply parser: a 2xx to ``CONNECT`` has no
    body, which a response parser cannot know without the request's method.
    """
    line = head.partition(b"\r\n")[0].split(b" ", 2)
    if len(line) < 2 or not line[0].startswith(b"HTTP/1.") or not line[1].isdigit():
        raise ConnectionFailure("the proxy's answer to CONNECT is not HTTP/1.1")
    status = int(line[1])
    if not 200 <= status < 300:
        raise ConnectionFailure(f"the proxy refused a tunnel to {route.tunnel.decode()} (HTTP {status})")


# -- replies ------------------------------------------------------------------------------
class ReplyReader:
    """One connection's reply, collected from the bytes it receives (httptools calls the ``on_*`` methods).

    ``status`` and ``headers`` (lower-case names) are set once ``headers_done``;
    body pieces gather in ``pieces`` until taken; ``complete`` says the reply
    ended, ``keep_alive`` whether the connection can carry another request.
    Interim replies (``100 Continue``) are skipped. A reply with neither
    ``Content-Length`` nor chunked encoding ends when the server closes
    (:meth:`feed_eof`).
    """

    __slots__ = ("_parser", "status", "headers", "pieces", "buffered", "headers_done", "complete", "keep_alive")

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self.reset()

    def reset(self) -> None:
        """Get ready for the next reply on the same connection."""
        self.status = 0
        self.headers: dict[str, str] = {}
        self.pieces: list[bytes] = []
        self.buffered = 0
        self.headers_done = self.complete = self.keep_alive = False

    def feed(self, data: bytes) -> None:
        """Parse bytes the server sent (raises ``httptools.HttpParserError`` on invalid HTTP)."""
        self._parser.feed_data(data)

    def feed_eof(self) -> bool:
        """The server closed the connection: whether the reply is complete (a body that runs to the close ends here)."""
        if self.headers_done and not self.complete and "content-length" not in self.headers \
                and "chunked" not in self.headers.get("transfer-encoding", "").lower():
            self.complete = True
        self.keep_alive = False
        return self.complete

    def take_body(self) -> bytes:
        """The body pieces received so far, joined, and forgotten."""
        pieces, self.pieces, self.buffered = self.pieces, [], 0
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def take_pieces(self) -> list[bytes]:
        """The body pieces received so far, in order, and forgotten."""
        pieces, self.pieces, self.buffered = self.pieces, [], 0
        return pieces

    # httptools' callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        """A header (httptools callback)."""
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        """The end of the headers (httptools callback)."""
        self.status = self._parser.get_status_code()
        self.headers_done = self.status >= 200

    def on_body(self, piece: bytes) -> None:
        """A piece of the body (httptools callback)."""
        self.pieces.append(piece)
        self.buffered += len(piece)

    def on_message_complete(self) -> None:
        """The end of a reply (httptools callback); an interim ``1xx`` one is forgotten."""
        if self.status < 200:
            self.headers = {}
            return
        self.complete = True
        self.keep_alive = self._parser.should_keep_alive()


def wire_failure(error: BaseException, timeout: float | None, when: str) -> Exception:
    """The :class:`~byllm.providers.transport.WireFailure` a socket, TLS or parser error stands for."""
    if isinstance(error, TimeoutError):
        return TimeoutFailure(f"no answer within {timeout} s")
    if isinstance(error, httptools.HttpParserError):
        return ConnectionFailure(f"the server's reply is not valid HTTP/1.1 ({error})")
    return ConnectionFailure(f"the connection failed {when} ({type(error).__name__})")


class Unanswered(Exception):
    """The connection failed before any byte of the reply arrived (``__cause__``: the socket's error, if any)."""


# What a socket, TLS or the parser raise when the connection or the server's HTTP fails.
WIRE_ERRORS = (OSError, httptools.HttpParserError)
CUT_OFF_MESSAGE = "the server closed the connection before the reply was complete"
STREAM_CUT_OFF_MESSAGE = "the server closed the connection before the stream was complete"


class ExchangeAttempt:
    """One try at sending a request and reading its reply on ``connection`` (``None``: a new one, set by the driver).

    On leaving with a failure it closes the connection and maps the failure: a
    reused connection that failed before any byte of the reply arrived (the
    server closed it as the request went out) sets :attr:`retry` and is
    swallowed, so the driver tries once more on a fresh connection; socket and
    parser errors become :class:`~byllm.providers.transport.WireFailure` s.
    """

    __slots__ = ("connection", "reused", "timeout", "retry")

    def __init__(self, connection: Any, timeout: float | None) -> None:
        self.connection = connection
        self.reused = connection is not None
        self.timeout = timeout
        self.retry = False

    def __enter__(self) -> ExchangeAttempt:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> bool:
        if error is None:
            return False
        if self.connection is not None:
            self.connection.close()
        if isinstance(error, Unanswered):
            if self.reused:
                self.retry = True
                return True
            raise ConnectionFailure("the server closed the connection without answering") from error.__cause__
        if isinstance(error, WIRE_ERRORS):
            raise wire_failure(error, self.timeout, "before the reply arrived") from error
        return False


# -- the pool -------------------------------------------------------------------------------
class PooledConnection(Protocol):
    """What the pool needs of a connection: its reply reader, when it went idle, whether it is open, close."""

    reader: ReplyReader
    idle_since: float

    def is_open(self) -> bool:
        """Whether the connection still looks usable (the server has not closed it)."""

    def close(self) -> None:
        """Close the connection (never raises)."""


Pooled = TypeVar("Pooled", bound=PooledConnection)


class ConnectionPool(Generic[Pooled]):
    """Idle keep-alive connections to one server (most recently used first); safe to share between threads."""

    def __init__(self) -> None:
        self._idle: list[Pooled] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._idle)

    def take(self) -> Pooled | None:
        """An idle connection that still looks open, or ``None`` (closed and stale ones are dropped)."""
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._idle:
                    return None
                pooled = self._idle.pop()
            if now - pooled.idle_since < KEEPALIVE_SECONDS and pooled.is_open():
                return pooled
            pooled.close()  # the server closed it, or it idled too long

    def give_back(self, pooled: Pooled) -> None:
        """Keep ``pooled`` for the next call if its reply was read to the end and both sides keep it open."""
        reader = pooled.reader
        if not (reader.complete and reader.keep_alive):
            pooled.close()
            return
        reader.reset()
        pooled.idle_since = now = time.monotonic()
        expired = kept = None
        with self._lock:
            if self._idle and now - self._idle[0].idle_since >= KEEPALIVE_SECONDS:
                expired = self._idle.pop(0)
            if len(self._idle) < MAX_IDLE:
                self._idle.append(pooled)
                kept = pooled
        if expired is not None:
            expired.close()
        if kept is None:
            pooled.close()

    def close(self) -> None:
        """Close every idle connection (``clear_clients``, loop shutdown, exit)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for pooled in idle:
            pooled.close()

    def forget(self) -> None:
        """In a forked child: drop the parent's connections unused (their sockets are the parent's)."""
        self._idle, self._lock = [], threading.Lock()


# -- TLS ----------------------------------------------------------------------------------------
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


def forget_locks_in_child() -> None:
    """After a fork: a lock another thread of the parent held stays held in the child, so make a new one."""
    global _tls_lock
    _tls_lock = threading.Lock()


__all__ = ["ConnectionPool", "ExchangeAttempt", "KEEPALIVE_SECONDS", "PooledConnection", "Proxy", "ReplyReader",
           "Route", "Unanswered", "WIRE_ERRORS", "route_for", "tls_context", "tunnel_status", "wire_failure"]
