"""A fake OpenAI-compatible and Anthropic Messages server on 127.0.0.1, for tests and benchmarks.

It records every request and answers from a script of replies (text, JSON, tool
calls, streamed SSE chunks) or injects faults: status codes with ``Retry-After``
in every form, slow replies, dropped connections, connections reset mid-body,
truncated and malformed bodies, empty choices and null content. A
:class:`FaultInjector` responder fails a seeded fraction of requests at random.
Threaded, so concurrent clients are served concurrently. Standard library only.
"""

from __future__ import annotations

import email.utils
import itertools
import json
import random
import socket
import struct
import sys
import threading
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

_ids = itertools.count(1)


@dataclass(frozen=True)
class Scripted:
    """One scripted answer: a JSON body or SSE events, after an optional delay, or a dropped connection.

    ``raw`` is sent instead of ``body`` as it is (malformed bodies); ``cut`` sends
    only that many body bytes (or SSE events) and then resets the connection;
    ``gap`` waits that long before each SSE event; ``close`` closes the connection
    after the reply without saying so (a server's keep-alive timeout running out).
    ``framing`` says how a JSON body's end is told: ``"length"`` (Content-Length),
    ``"chunked"`` (chunked transfer-encoding, in small chunks) or ``"close"``
    (neither: the body ends when the server closes the connection).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    events: list[tuple[str | None, str]] | None = None
    delay: float = 0.0
    drop: bool = False
    raw: bytes | None = None
    content_type: str = "application/json"
    cut: int | None = None
    gap: float = 0.0
    close: bool = False
    framing: str = "length"

    def payload(self) -> bytes:
        """The body bytes this reply sends (all of them, before any cut)."""
        return self.raw if self.raw is not None else json.dumps(self.body).encode()


@dataclass
class RecordedRequest:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""  # the body's bytes as sent (request-compatibility tests compare them)
    peer: tuple[str, int] | None = None  # the client's address: one per connection



# -- OpenAI Chat Completions replies -------------------------------------------
def openai_text(text: str | None, *, model: str = "fake-model", usage: tuple[int, int] = (11, 7),
                tool_calls: list[dict[str, Any]] | None = None) -> Scripted:
    """A chat completion whose message is ``text`` (and optional raw tool calls)."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return Scripted(body={
        "id": f"chatcmpl-{next(_ids)}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": "tool_calls" if tool_calls else "stop",
        }],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    })


def openai_json(value: Any, **options: Any) -> Scripted:
    """A chat completion whose text is ``value`` as JSON."""
    return openai_text(json.dumps(value), **options)


def openai_tool_calls(*calls: tuple[str, dict[str, Any]], text: str | None = None) -> Scripted:
    """A chat completion asking for tool calls ``(name, arguments)``."""
    raw = [
        {"id": f"call_{next(_ids)}", "type": "function",
         "function": {"name": name, "arguments": json.dumps(arguments)}}
        for name, arguments in calls
    ]
    return openai_text(text, tool_calls=raw)


def openai_stream(chunks: list[str], *, model: str = "fake-model", usage: tuple[int, int] | None = (11, 7)) -> Scripted:
    """A streamed chat completion sending ``chunks`` as SSE deltas, then a usage chunk (``include_usage``)."""
    ident = f"chatcmpl-{next(_ids)}"

    def event(delta: dict[str, Any], finish: str | None = None) -> tuple[None, str]:
        return None, json.dumps({
            "id": ident, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })

    events = [event({"role": "assistant", "content": ""})]
    events += [event({"content": chunk}) for chunk in chunks]
    events.append(event({}, "stop"))
    if usage is not None:
        events.append((None, json.dumps({
            "id": ident, "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model, "choices": [],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}})))
    events.append((None, "[DONE]"))
    return Scripted(events=events)


# -- Anthropic Messages replies --------------------------------------------------
def _anthropic_message(content: list[dict[str, Any]], stop_reason: str, usage: tuple[int, int]) -> dict[str, Any]:
    return {
        "id": f"msg_{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": "claude-fake",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }


def anthropic_text(text: str, *, usage: tuple[int, int] = (13, 5)) -> Scripted:
    """A Messages reply with one text block."""
    return Scripted(body=_anthropic_message([{"type": "text", "text": text}], "end_turn", usage))


def anthropic_tool_use(*calls: tuple[str, dict[str, Any]], text: str | None = None,
                       usage: tuple[int, int] = (13, 5)) -> Scripted:
    """A Messages reply with ``tool_use`` blocks ``(name, input)``."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content += [{"type": "tool_use", "id": f"toolu_{next(_ids)}", "name": name, "input": arguments}
                for name, arguments in calls]
    return Scripted(body=_anthropic_message(content, "tool_use", usage))


def anthropic_stream(chunks: list[str], *, input_tokens: int = 13) -> Scripted:
    """A streamed Messages reply sending ``chunks`` as text deltas; usage in message_start and message_delta."""
    start = _anthropic_message([], "end_turn", (input_tokens, 1))
    start["stop_reason"] = None
    events: list[tuple[str | None, str]] = [("message_start", json.dumps({"type": "message_start", "message": start}))]
    events.append(("content_block_start", json.dumps(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})))
    for chunk in chunks:
        events.append(("content_block_delta", json.dumps(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": chunk}})))
    events.append(("content_block_stop", json.dumps({"type": "content_block_stop", "index": 0})))
    events.append(("message_delta", json.dumps({
        "type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": len(chunks)}})))
    events.append(("message_stop", json.dumps({"type": "message_stop"})))
    return Scripted(events=events)


# -- faults --------------------------------------------------------------------
def error(status: int, message: str = "fake failure", *, retry_after: str | None = None,
          headers: dict[str, str] | None = None) -> Scripted:
    """An error reply in the shape both APIs use (``{"error": {"message": ...}}``)."""
    sent = dict(headers or {})
    if retry_after is not None:
        sent["retry-after"] = retry_after
    body = {"type": "error", "error": {"message": message, "type": "fake_error"}}
    return Scripted(status=status, body=body, headers=sent)


def slow(delay: float, reply: Scripted) -> Scripted:
    """``reply`` sent only after ``delay`` seconds."""
    return replace(reply, delay=delay)


def drop() -> Scripted:
    """Read the request, then close the connection without answering."""
    return Scripted(drop=True)


def reset_mid_body(reply: Scripted, keep: int | None = None) -> Scripted:
    """``reply`` cut off after ``keep`` body bytes or SSE events (default: half), then the connection reset."""
    whole = len(reply.events) if reply.events is not None else len(reply.payload())
    return replace(reply, cut=whole // 2 if keep is None else keep)


def truncated(reply: Scripted) -> Scripted:
    """``reply`` with a 200 and its JSON body cut in half (the content length matches the cut body)."""
    return replace(reply, raw=reply.payload()[: len(reply.payload()) // 2])


def malformed(text: str = "<html><body>502 Bad Gateway</body></html>", content_type: str = "text/html") -> Scripted:
    """A 200 whose body is not a chat completion (an HTML page from a proxy, by default)."""
    return Scripted(raw=text.encode(), content_type=content_type)


def openai_empty_choices() -> Scripted:
    """A chat completion with an empty ``choices`` list."""
    reply = openai_text("unused")
    return replace(reply, body={**reply.body, "choices": []})


def openai_null_content() -> Scripted:
    """A chat completion whose message content is ``null`` (and has no tool calls)."""
    return openai_text(None)


def http_date(seconds_from_now: float) -> str:
    """An HTTP date (``Retry-After`` form) ``seconds_from_now`` away; negative means in the past."""
    import time

    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


# Every form a Retry-After can take, with waits small enough for tests (garbage falls back to backoff).
RETRY_AFTER_FORMS: dict[str, dict[str, str]] = {
    "none": {},
    "seconds": {"retry-after": "0"},
    "fraction": {"retry-after": "0.002"},
    "milliseconds": {"retry-after-ms": "2"},
    "http-date": {"retry-after": http_date(-5)},
    "nan": {"retry-after": "nan"},
    "negative": {"retry-after": "-3"},
    "garbage": {"retry-after": "soon, probably"},
    "bad-date": {"retry-after": "Mon, 99 Foo 20xx 99:99:99 GMT"},
    "nan-milliseconds": {"retry-after-ms": "NaN"},
}


def transient_faults(ok: Scripted, *, slow_seconds: float = 2.0) -> dict[str, Scripted]:
    """Every transport fault byllm must retry, for a request whose good answer is ``ok``."""
    faults: dict[str, Scripted] = {}
    for status in (429, 500, 503):
        for form, headers in RETRY_AFTER_FORMS.items():
            faults[f"{status}-{form}"] = error(status, "injected fault", headers=headers)
    faults.update({
        "timeout": slow(slow_seconds, ok),
        "dropped": drop(),
        "reset-mid-body": reset_mid_body(ok),
        "truncated": truncated(ok),
        "malformed-html": malformed(),
        "malformed-json": malformed('{"object": "error", "detail": "upstream"}', "application/json"),
        "not-json": malformed("upstream timed out", "application/json"),
    })
    if ok.body is not None and "choices" in ok.body:
        faults["empty-choices"] = openai_empty_choices()
        faults["null-content"] = openai_null_content()
    return faults


class FaultInjector:
    """A responder that answers like ``answer`` but fails a seeded share of requests with a random fault.

    The fault for a request is drawn from ``(seed, call id, attempt)``, so it does
    not depend on the order concurrent requests arrive in. No call gets more
    than ``max_faults_per_call`` faults, so every call fits a retry budget of
    that many retries. ``injected`` counts the faults by kind.
    """

    def __init__(self, answer: Responder, *, call_id: Callable[[RecordedRequest], str], rate: float = 0.2,
                 seed: int = 0, max_faults_per_call: int = 3, slow_seconds: float = 2.0) -> None:
        self.answer = answer
        self.call_id = call_id
        self.rate = rate
        self.seed = seed
        self.max_faults_per_call = max_faults_per_call
        self.slow_seconds = slow_seconds
        self.injected: Counter[str] = Counter()
        self.requests = 0
        self._attempts: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Scripted:
        ok = self.answer(request)
        call = self.call_id(request)
        with self._lock:
            self.requests += 1
            attempt = self._attempts[call]
            self._attempts[call] += 1
            draw = random.Random(f"{self.seed}:{call}:{attempt}")
            if self._faults[call] >= self.max_faults_per_call or draw.random() >= self.rate:
                return ok
            faults = transient_faults(ok, slow_seconds=self.slow_seconds)
            kind = draw.choice(sorted(faults))
            self._faults[call] += 1
            self.injected[kind] += 1
        return faults[kind]


Responder = Callable[[RecordedRequest], Scripted]


class FakeLLMServer:
    """The fake server. ``script(...)`` queues replies; ``responder`` answers when the queue is empty."""

    def __init__(self, *, latency: float = 0.0, responder: Responder | None = None, record: bool = True) -> None:
        self.latency = latency
        self.responder = responder
        self.record = record
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-llm-server", daemon=True
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (the Anthropic SDK's base URL)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_url(self) -> str:
        """The OpenAI SDK's base URL for this server."""
        return self.url + "/v1"

    def script(self, *replies: Scripted) -> None:
        """Queue replies, answered in order."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted replies not yet sent."""
        return len(self._queue)

    def start(self) -> FakeLLMServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; slow replies in progress are cut short."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def next_reply(self, request: RecordedRequest) -> Scripted:
        """The reply for a request: the next scripted one, else the responder's."""
        with self._lock:
            if self.record:
                self.requests.append(request)
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(request)
        return error(400, "fake server: no scripted reply left for this request")

    def wait(self, seconds: float) -> None:
        """Sleep for a simulated delay, waking early when the server stops."""
        if seconds > 0:
            self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    fake: FakeLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out or hung up leaves a broken pipe: expected here, not worth a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer each response and send it in one write with Nagle off: headers and body
    # in separate small segments would meet the client's delayed ACK (~40 ms a reply).
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (keep test output clean)
        pass

    def do_POST(self) -> None:  # noqa: N802  (http.server naming)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        fake = self.server.fake
        request = RecordedRequest(
            method="POST",
            path=self.path,
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
            raw=raw,
            peer=self.client_address[:2],
        )
        reply = fake.next_reply(request)
        fake.wait(fake.latency + reply.delay)
        if reply.drop:
            self.close_connection = True
            return
        if reply.events is not None:
            self._send_events(reply)
        else:
            self._send_json(reply)

    def _send_json(self, reply: Scripted) -> None:
        payload = reply.payload()
        self.send_response(reply.status)
        self.send_header("content-type", reply.content_type)
        if reply.framing == "length":
            self.send_header("content-length", str(len(payload)))
        elif reply.framing == "chunked":
            self.send_header("transfer-encoding", "chunked")
            payload = b"".join(b"%x\r\n%s\r\n" % (len(payload[start:start + 7]), payload[start:start + 7])
                               for start in range(0, len(payload), 7)) + b"0\r\n\r\n"
        else:
            self.close_connection = True
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if reply.cut is None:
            self.wfile.write(payload)
            if reply.close:
                self.close_connection = True
        else:
            self.wfile.write(payload[: reply.cut])
            self._reset()

    def _reset(self) -> None:
        """Send what is buffered, then reset the connection (RST, not a clean close)."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Closed before the server's orderly shutdown() could send a FIN: the peer sees a reset.
        self.connection.close()
        self.close_connection = True

    def _send_events(self, reply: Scripted) -> None:
        self.send_response(reply.status)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        events = reply.events or []
        for name, data in events[: reply.cut]:
            self.server.fake.wait(reply.gap)
            lines = (f"event: {name}\n" if name else "") + f"data: {data}\n\n"
            self.wfile.write(lines.encode())
            self.wfile.flush()
        if reply.cut is not None:
            self._reset()
        self.close_connection = True


# -- proxies ----------------------------------------------------------------------------
class TunnelProxy:
    """An ``http://`` proxy on 127.0.0.1 that only opens ``CONNECT`` tunnels, recording each request's head.

    ``refuse`` answers every ``CONNECT`` with that status instead (a proxy denying access).
    """

    def __init__(self, refuse: int | None = None) -> None:
        self.refuse = refuse
        self.heads: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._accept, name="tunnel-proxy", daemon=True)
        self._sockets: list[socket.socket] = []

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, for ``HTTPS_PROXY``."""
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> TunnelProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(client)
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(4096)
            if not data:
                return
            head += data
        self.heads.append(head)
        if self.refuse is not None:
            client.sendall(b"HTTP/1.1 %d Refused\r\nContent-Length: 0\r\n\r\n" % self.refuse)
            return
        host, _, port = head.split(b" ", 2)[1].decode().rpartition(":")
        upstream = socket.create_connection((host, int(port)))
        self._sockets.append(upstream)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)


def _pipe(source: socket.socket, target: socket.socket) -> None:
    """Copy bytes from ``source`` to ``target`` until either side closes."""
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# -- JSON-schema mode (issue 14): a server without response_format ----------------------
class RefusesResponseFormat:
    """Answers like ``answer``, except a request carrying ``response_format``: HTTP 400, as older servers refuse it.

    ``refused`` counts the refusals.
    """

    MESSAGE = "Unrecognized request argument supplied: response_format (json_schema is not supported)"

    def __init__(self, answer: Responder) -> None:
        self.answer = answer
        self.refused = 0
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Scripted:
        if isinstance(request.body, dict) and "response_format" in request.body:
            with self._lock:
                self.refused += 1
            return error(400, self.MESSAGE)
        return self.answer(request)


# -- scale-out (issue 13): a per-key request quota ------------------------------------
class QuotaResponder:
    """Answers like ``answer`` within a quota of requests per minute per API key; beyond it, 429 + Retry-After.

    The quota is a GCRA schedule per key (the ``authorization`` header): one
    request every ``60 / requests_per_minute`` seconds, with ``burst`` requests
    allowed at once, as providers enforce per-minute limits over shorter
    periods. ``admitted`` and ``over_quota`` count requests per key; the 429s
    carry ``Retry-After`` (seconds) and ``retry-after-ms`` until the next
    request would be admitted.
    """

    def __init__(self, answer: Responder, *, requests_per_minute: float, burst: int = 1) -> None:
        import time

        self.answer = answer
        self.interval = 60.0 / requests_per_minute
        self.tolerance = (burst - 1) * self.interval
        self.admitted: Counter[str] = Counter()
        self.over_quota: Counter[str] = Counter()
        self.admitted_at: list[float] = []  # time.monotonic() of every admitted request
        self._clock = time.monotonic
        self._theoretical_arrival: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Scripted:
        key = request.headers.get("authorization", "")
        with self._lock:
            now = self._clock()
            arrival = max(self._theoretical_arrival.get(key, now), now)
            early = arrival - now - self.tolerance
            if early > 0:
                self.over_quota[key] += 1
                return quota_exceeded(early)
            self._theoretical_arrival[key] = arrival + self.interval
            self.admitted[key] += 1
            self.admitted_at.append(now)
        return self.answer(request)

    @property
    def total_over_quota(self) -> int:
        """429s sent, over every key."""
        return sum(self.over_quota.values())


def quota_exceeded(wait: float) -> Scripted:
    """A 429 as OpenAI sends it when a rate limit is reached, asking to wait ``wait`` seconds."""
    return error(429, "Rate limit reached for requests", headers={
        "retry-after": f"{wait:.3f}", "retry-after-ms": str(int(wait * 1000) + 1)})


# -- scale-out (issue 13): the OpenAI Batch API ------------------------------------------
class FakeBatchAPI:
    """Files and batches as the OpenAI Batch API serves them, each line answered by a chat ``responder``.

    ``POST /v1/files`` (multipart, ``purpose=batch``) stores a JSONL file;
    ``POST /v1/batches`` answers every line at once through the responder and
    writes the output file (status 200 lines) and the error file (the others);
    ``GET /v1/batches/{id}`` reports ``in_progress`` for the first
    ``polls_before_done`` retrievals, then ``completed``; ``GET
    /v1/files/{id}/content`` returns a file. ``lines_answered`` counts lines.
    """

    def __init__(self, responder: Responder, *, polls_before_done: int = 1) -> None:
        self.responder = responder
        self.polls_before_done = polls_before_done
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.lines_answered = 0
        self._polls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def answer(self, request: RecordedRequest) -> Scripted | None:
        """The reply to a Batch API request, or ``None`` when the path is not one of its endpoints."""
        path = request.path.split("?", 1)[0].rstrip("/")
        if request.method == "POST" and path == "/v1/files":
            return self._upload(request)
        if request.method == "POST" and path == "/v1/batches":
            return self._create(request)
        if request.method == "GET" and path.startswith("/v1/batches/"):
            return self._retrieve(path.rsplit("/", 1)[1])
        if request.method == "GET" and path.startswith("/v1/files/") and path.endswith("/content"):
            content = self.files.get(path.split("/")[3])
            if content is None:
                return error(404, "No such file")
            return Scripted(raw=content, content_type="application/jsonl")
        return None

    def _upload(self, request: RecordedRequest) -> Scripted:
        content = _multipart_file(request)
        file_id = f"file-{next(_ids)}"
        with self._lock:
            self.files[file_id] = content
        return Scripted(body={"id": file_id, "object": "file", "bytes": len(content), "created_at": 1_700_000_000,
                              "filename": "batch.jsonl", "purpose": "batch", "status": "processed"})

    def _create(self, request: RecordedRequest) -> Scripted:
        body = request.body
        content = self.files.get(body.get("input_file_id", ""))
        if content is None:
            return error(400, "input_file_id names no uploaded file")
        outputs: list[str] = []
        errors: list[str] = []
        for line in content.decode().splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            reply = self.responder(RecordedRequest("POST", entry["url"], request.headers, entry["body"]))
            result = json.dumps({"id": f"batch_req_{next(_ids)}", "custom_id": entry["custom_id"], "error": None,
                                 "response": {"status_code": reply.status, "request_id": f"req_{next(_ids)}",
                                              "body": reply.body}})
            (outputs if reply.status == 200 else errors).append(result)
        batch_id = f"batch_{next(_ids)}"
        output_id = self._store_lines(outputs)
        error_id = self._store_lines(errors)
        with self._lock:
            self.lines_answered += len(outputs) + len(errors)
            self.batches[batch_id] = {
                "id": batch_id, "object": "batch", "endpoint": body.get("endpoint"), "errors": None,
                "input_file_id": body["input_file_id"], "completion_window": body.get("completion_window", "24h"),
                "status": "validating", "output_file_id": None, "error_file_id": None,
                "created_at": 1_700_000_000, "metadata": body.get("metadata"),
                "request_counts": {"total": len(outputs) + len(errors), "completed": 0, "failed": 0},
                "_done": {"output_file_id": output_id, "error_file_id": error_id,
                          "request_counts": {"total": len(outputs) + len(errors), "completed": len(outputs),
                                             "failed": len(errors)}},
            }
        return Scripted(body=self._public(batch_id))

    def _store_lines(self, lines: list[str]) -> str | None:
        if not lines:
            return None
        file_id = f"file-{next(_ids)}"
        with self._lock:
            self.files[file_id] = ("\n".join(lines) + "\n").encode()
        return file_id

    def _retrieve(self, batch_id: str) -> Scripted:
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return error(404, f"No batch {batch_id}")
            self._polls[batch_id] += 1
            if self._polls[batch_id] > self.polls_before_done:
                batch.update(batch["_done"], status="completed")
            else:
                batch["status"] = "in_progress"
        return Scripted(body=self._public(batch_id))

    def _public(self, batch_id: str) -> dict[str, Any]:
        return {key: value for key, value in self.batches[batch_id].items() if not key.startswith("_")}


def _multipart_file(request: RecordedRequest) -> bytes:
    """The ``file`` part of a multipart/form-data body (the handler stored it as text)."""
    boundary = request.headers.get("content-type", "").split("boundary=", 1)[1].strip('"')
    raw = request.body.encode() if isinstance(request.body, str) else json.dumps(request.body).encode()
    for part in raw.split(b"--" + boundary.encode()):
        head, _, content = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            return content.rsplit(b"\r\n", 1)[0]
    raise ValueError("multipart body without a file part")


class FakeBatchServer(FakeLLMServer):
    """The fake server with the OpenAI Batch API (:class:`FakeBatchAPI`) in front of its chat endpoint."""

    def __init__(self, *, responder: Responder, polls_before_done: int = 1, **options: Any) -> None:
        super().__init__(responder=responder, record=False, **options)
        self.batch_api = FakeBatchAPI(responder, polls_before_done=polls_before_done)
        self._server.RequestHandlerClass = _BatchHandler

    def next_reply(self, request: RecordedRequest) -> Scripted:
        """Batch API requests first, then the chat endpoint as usual."""
        return self.batch_api.answer(request) or super().next_reply(request)


class _BatchHandler(_Handler):
    """The fake server's handler, with GET for batch retrieval and file content."""

    def do_GET(self) -> None:  # noqa: N802  (http.server naming)
        request = RecordedRequest(method="GET", path=self.path, body=None,
                                  headers={key.lower(): value for key, value in self.headers.items()})
        self._send_json(self.server.fake.next_reply(request))
