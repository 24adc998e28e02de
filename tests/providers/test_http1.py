"""byllm's HTTP/1.1 layer (httptools), sync and async: keep-alive, timeouts, streams, errors, proxies, TLS."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

import byllm
from byllm.errors import MalformedReplyError
from byllm.lib import AuthenticationError, ConfigurationError, Model, ProviderError, ProviderTimeout, RateLimitError, by
from byllm.providers import http1, http1_async, http1_sync
from byllm.providers.base import CompletionRequest, StreamChunk
from byllm.providers.chat_completions import CHAT_COMPLETIONS, proxy_for
from byllm.providers.clients import cached_client
from byllm.providers.openai_provider import OpenAICompatibleProvider
from byllm.providers.transport import RetryPolicy
from fake_server import FakeLLMServer, Scripted, TunnelProxy, drop, error, malformed, reset_mid_body, slow
from fake_server import openai_stream, openai_text

KEY = "sk-http1-0123456789abcdef"
REQUEST = CompletionRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])


def sender(url: str, *, retries: int = 0, timeout: float | None = 5.0, **options: Any) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(base_url=url, api_key=KEY, transport=CHAT_COMPLETIONS,
                                    policy=RetryPolicy(max_retries=retries, backoff=0.0, timeout=timeout), **options)


def closed_after(reply: Scripted) -> Scripted:
    """``reply``, then the server closes the kept-alive connection without having said it would."""
    return Scripted(status=reply.status, body=reply.body, headers=reply.headers, close=True)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Each test runs on both drivers of the layer: blocking sockets and the asyncio protocol."""
    return request.param


def texts(provider: OpenAICompatibleProvider, mode: str, count: int = 1) -> list[str]:
    """``count`` calls in turn (async: on one event loop, so they share its pool)."""
    if mode == "sync":
        return [provider.complete(REQUEST).text for _ in range(count)]

    async def in_turn() -> list[str]:
        return [(await provider.acomplete(REQUEST)).text for _ in range(count)]

    return asyncio.run(in_turn())


def chunks(provider: OpenAICompatibleProvider, mode: str) -> list[StreamChunk]:
    """A whole stream's chunks."""
    if mode == "sync":
        return list(provider.stream(REQUEST))

    async def read() -> list[StreamChunk]:
        return [chunk async for chunk in provider.astream(REQUEST)]

    return asyncio.run(read())


# -- keep-alive -------------------------------------------------------------------------
def test_sequential_calls_reuse_one_kept_alive_connection(fake_server: FakeLLMServer, mode: str) -> None:
    fake_server.responder = lambda request: openai_text("ok")
    assert texts(sender(fake_server.openai_url), mode, 5) == ["ok"] * 5
    assert len({request.peer for request in fake_server.requests}) == 1


def test_a_connection_the_server_closed_while_idle_is_not_used(fake_server: FakeLLMServer, mode: str) -> None:
    fake_server.script(closed_after(openai_text("first")), openai_text("second"))
    assert texts(sender(fake_server.openai_url), mode, 2) == ["first", "second"]  # max_retries=0
    first, second = fake_server.requests
    assert first.peer != second.peer


def test_a_kept_alive_connection_dropped_as_the_request_goes_out_is_replaced_once(
        fake_server: FakeLLMServer, mode: str) -> None:
    fake_server.script(openai_text("first"), drop(), openai_text("second"))
    # max_retries=0: the transport itself replaced the connection
    assert texts(sender(fake_server.openai_url), mode, 2) == ["first", "second"]
    first, dropped, answered = fake_server.requests
    assert dropped.peer == first.peer and answered.peer != first.peer
    assert answered.raw == dropped.raw


def test_a_fresh_connection_closed_without_an_answer_is_a_connection_failure(
        fake_server: FakeLLMServer, mode: str) -> None:
    fake_server.script(drop(), drop())
    with pytest.raises(ProviderError, match="connection failed.*without answering") as raised:
        texts(sender(fake_server.openai_url, retries=1), mode)
    assert raised.value.attempts == 2 and len(fake_server.requests) == 2


def test_a_reply_cut_off_mid_body_is_not_retried_by_the_transport_itself(
        fake_server: FakeLLMServer, mode: str) -> None:
    fake_server.script(openai_text("first"), reset_mid_body(openai_text("cut")), openai_text("never"))
    with pytest.raises(ProviderError, match="connection failed"):
        texts(sender(fake_server.openai_url), mode, 2)
    assert len(fake_server.requests) == 2  # bytes of the reply had arrived: only byllm's retries may resend


@pytest.mark.parametrize("framing", ["length", "close"])
def test_a_server_closing_mid_body_is_a_connection_failure(fake_server: FakeLLMServer, mode: str,
                                                           framing: str) -> None:
    reply = openai_text("cut")
    fake_server.script(Scripted(raw=reply.payload(), framing=framing, cut=10))
    with pytest.raises(ProviderError, match="connection failed") as raised:
        texts(sender(fake_server.openai_url), mode)
    assert KEY not in str(raised.value)


def test_threads_share_the_pool_and_leave_their_connections_in_it(fake_server: FakeLLMServer) -> None:
    fake_server.responder = lambda request: slow(0.05, openai_text("ok"))
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)

    @by(llm)
    def echo(text: str) -> str:
        """Echo."""

    assert byllm.map(echo, [str(n) for n in range(24)], concurrency=8, progress=False) == ["ok"] * 24
    assert len({request.peer for request in fake_server.requests}) <= 8
    route = http1.route_for(llm.provider.connection())
    assert 1 <= len(cached_client(route.pool_key, http1_sync.new_pool)) <= 8


def test_the_sync_pool_is_safe_to_use_from_many_threads_at_once(fake_server: FakeLLMServer) -> None:
    fake_server.responder = lambda request: openai_text("ok")
    provider = sender(fake_server.openai_url)
    results: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(20):
            text = provider.complete(REQUEST).text
            with lock:
                results.append(text)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["ok"] * 160
    assert len({request.peer for request in fake_server.requests}) <= 8


def test_concurrent_async_calls_share_their_loops_pool(fake_server: FakeLLMServer) -> None:
    fake_server.responder = lambda request: slow(0.02, openai_text("ok"))
    provider = sender(fake_server.openai_url)

    async def waves() -> list[str]:
        first = await asyncio.gather(*(provider.acomplete(REQUEST) for _ in range(6)))
        second = await asyncio.gather(*(provider.acomplete(REQUEST) for _ in range(6)))
        return [reply.text for reply in first + second]

    assert asyncio.run(waves()) == ["ok"] * 12
    assert len({request.peer for request in fake_server.requests}) == 6  # the second wave reused the first's


# -- framing -------------------------------------------------------------------------------
@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_replies_are_read_whatever_their_framing(fake_server: FakeLLMServer, mode: str, framing: str) -> None:
    reply = openai_text("framed " * 50)
    fake_server.script(*[Scripted(raw=reply.payload(), framing=framing) for _ in range(3)])
    assert texts(sender(fake_server.openai_url), mode, 3) == ["framed " * 50] * 3
    peers = len({request.peer for request in fake_server.requests})
    assert peers == (3 if framing == "close" else 1)  # a body ended by the close cannot keep its connection


def test_a_connection_close_reply_is_not_reused(fake_server: FakeLLMServer, mode: str) -> None:
    fake_server.script(Scripted(body=openai_text("one").body, headers={"connection": "close"}), openai_text("two"))
    assert texts(sender(fake_server.openai_url), mode, 2) == ["one", "two"]
    first, second = fake_server.requests
    assert first.peer != second.peer


def test_requests_carry_their_content_length_and_headers(fake_server: FakeLLMServer, mode: str) -> None:
    fake_server.script(openai_text("ok"))
    assert texts(sender(fake_server.openai_url, headers={"X-Team": "search"}), mode) == ["ok"]
    request = fake_server.requests[0]
    assert int(request.headers["content-length"]) == len(request.raw) > 0
    assert request.headers["host"] == fake_server.url.split("//")[1]
    assert request.headers["x-team"] == "search" and request.headers["authorization"] == f"Bearer {KEY}"


def test_a_header_that_is_not_valid_http_is_a_configuration_error(fake_server: FakeLLMServer, mode: str) -> None:
    with pytest.raises(ConfigurationError, match="'X-Team' is not valid HTTP") as raised:
        texts(sender(fake_server.openai_url, headers={"X-Team": "a\r\nInjected: yes"}), mode)
    assert "Injected" not in str(raised.value) and not fake_server.requests


# -- timeouts -----------------------------------------------------------------------------
def test_a_reply_slower_than_the_timeout_is_a_provider_timeout(fake_server: FakeLLMServer, mode: str) -> None:
    fake_server.script(slow(2.0, openai_text("late")))
    with pytest.raises(ProviderTimeout, match="no answer within"):
        texts(sender(fake_server.openai_url, timeout=0.2), mode)


def test_a_connect_timeout_is_a_provider_timeout(mode: str) -> None:
    # A listener that never accepts, its backlog filled: the kernel drops further connection attempts,
    # so connecting hangs until the timeout.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(listener.getsockname())
            fillers.append(filler)
        host, port = listener.getsockname()
        with pytest.raises(ProviderTimeout, match="no answer within 0.3"):
            texts(sender(f"http://{host}:{port}/v1", timeout=0.3), mode)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_a_stream_may_outlast_the_timeout_while_each_event_arrives_within_it(
        fake_server: FakeLLMServer, mode: str) -> None:
    stream = openai_stream(["a", "b", "c", "d"])
    fake_server.script(Scripted(events=stream.events, gap=0.1))
    assert "".join(chunk.text for chunk in chunks(sender(fake_server.openai_url, timeout=0.3), mode)) == "abcd"


def test_async_deadlines_share_one_timer_and_time_out_only_late_calls(fake_server: FakeLLMServer) -> None:
    # One slow reply among quick ones: it alone times out, and the loop holds one deadline timer, not one a request.
    fake_server.responder = lambda request: slow(1.0 if "slow" in str(request.body) else 0.05, openai_text("ok"))
    provider = sender(fake_server.openai_url, timeout=0.4)

    async def run() -> tuple[list[Any], int]:
        loop = asyncio.get_running_loop()
        calls = [provider.acomplete(CompletionRequest(model="m", messages=[{"role": "user", "content": word}]))
                 for word in ["quick"] * 20 + ["slow"]]
        tasks = [asyncio.ensure_future(call) for call in calls]
        await asyncio.sleep(0.02)
        timers = sum(1 for handle in loop._scheduled if not handle.cancelled())  # noqa: SLF001  (what asyncio keeps)
        return await asyncio.gather(*tasks, return_exceptions=True), timers

    results, timers = asyncio.run(run())
    assert [reply.text for reply in results[:20]] == ["ok"] * 20
    assert isinstance(results[20], ProviderTimeout)
    assert timers <= 2  # the deadlines' timer (and at most one of asyncio's own), with 21 requests in flight


def test_deadlines_fire_the_earliest_first_and_forgotten_waits_never() -> None:
    class Waiting:
        def __init__(self) -> None:
            self.timed_out_at: float | None = None

        def time_out(self) -> None:
            self.timed_out_at = asyncio.get_running_loop().time()

    async def run() -> list[float | None]:
        loop = asyncio.get_running_loop()
        deadlines = http1_async.Deadlines(loop)
        late, early, forgotten = Waiting(), Waiting(), Waiting()
        start = loop.time()
        deadlines.watch(late, start + 0.2)  # type: ignore[arg-type]
        deadlines.watch(early, start + 0.05)  # type: ignore[arg-type]  (earlier than the timer set: moves it)
        deadlines.watch(forgotten, start + 0.1)  # type: ignore[arg-type]
        deadlines.forget(forgotten)  # type: ignore[arg-type]
        await asyncio.sleep(0.3)
        return [None if waiting.timed_out_at is None else waiting.timed_out_at - start
                for waiting in (late, early, forgotten)]

    late, early, forgotten = asyncio.run(run())
    assert early is not None and 0.049 <= early < 0.15
    assert late is not None and 0.199 <= late < 0.3
    assert forgotten is None


def test_a_stream_stalling_longer_than_the_timeout_is_a_provider_timeout(
        fake_server: FakeLLMServer, mode: str) -> None:
    events = openai_stream(["a", "b"]).events or []
    fake_server.script(Scripted(events=events, gap=0.6))
    with pytest.raises(ProviderTimeout):
        chunks(sender(fake_server.openai_url, timeout=0.2), mode)


# -- replies and errors -------------------------------------------------------------------
def test_error_statuses_carry_the_servers_message_and_retry_after(fake_server: FakeLLMServer, mode: str) -> None:
    fake_server.script(error(429, "slow down", retry_after="0"), openai_text("ok"),
                       error(401, f"bad key {KEY}"), error(400, "max_tokens is too large"),
                       Scripted(status=503, raw=b"upstream gone", content_type="text/plain"),
                       error(429, "slow down", retry_after="3600"))
    # retried after Retry-After
    assert texts(sender(fake_server.openai_url, retries=1), mode) == ["ok"]
    provider = sender(fake_server.openai_url)
    with pytest.raises(AuthenticationError, match="bad key") as raised:
        texts(provider, mode)
    assert KEY not in str(raised.value)  # the server echoed the key: the error does not
    with pytest.raises(ProviderError, match="HTTP 400.*max_tokens is too large") as raised:
        texts(provider, mode)
    assert raised.value.status == 400
    with pytest.raises(ProviderError, match="HTTP 503.*upstream gone"):
        texts(provider, mode)
    with pytest.raises(RateLimitError, match="longer than byllm waits"):
        texts(sender(fake_server.openai_url, retries=1), mode)
    if mode == "sync":  # error replies keep the connection (async: each asyncio.run has its own pool)
        assert len({request.peer for request in fake_server.requests}) == 1


def test_a_reply_that_is_not_json_is_a_malformed_reply(fake_server: FakeLLMServer, mode: str) -> None:
    fake_server.script(malformed())
    with pytest.raises(MalformedReplyError, match="not a chat completion"):
        texts(sender(fake_server.openai_url), mode)


def test_a_stream_yields_its_chunks_and_usage_and_an_error_event_is_typed(
        fake_server: FakeLLMServer, mode: str) -> None:
    fake_server.script(openai_stream(["Hel", "lo"], usage=(3, 2)))
    streamed = chunks(sender(fake_server.openai_url), mode)
    assert [chunk.text for chunk in streamed] == ["Hel", "lo", ""]
    assert (streamed[-1].usage.input_tokens, streamed[-1].usage.output_tokens) == (3, 2)
    events = openai_stream(["one"]).events or []
    fake_server.script(Scripted(events=[events[0], (None, '{"error": {"message": "overloaded"}}')]))
    with pytest.raises(ProviderError, match="overloaded"):
        chunks(sender(fake_server.openai_url), mode)


def test_a_stream_answered_with_an_error_status_is_a_typed_error(fake_server: FakeLLMServer, mode: str) -> None:
    fake_server.script(error(401, "bad key"))
    with pytest.raises(AuthenticationError, match="bad key"):
        chunks(sender(fake_server.openai_url), mode)


def test_a_stream_cut_off_before_its_end_is_a_connection_failure(fake_server: FakeLLMServer) -> None:
    fake_server.script(reset_mid_body(openai_stream(["a", "b", "c"]), keep=2))
    stream = sender(fake_server.openai_url).stream(REQUEST)
    assert next(stream).text == "a"
    with pytest.raises(ProviderError, match="connection"):
        list(stream)


def test_an_async_stream_cut_off_before_its_end_is_a_connection_failure(fake_server: FakeLLMServer) -> None:
    fake_server.script(reset_mid_body(openai_stream(["a", "b", "c"]), keep=2))

    async def read() -> list[str]:
        seen = []
        with pytest.raises(ProviderError, match="connection"):
            async for chunk in sender(fake_server.openai_url).astream(REQUEST):
                seen.append(chunk.text)
        return seen

    assert asyncio.run(read()) == ["a"]


def test_a_slow_async_stream_reader_pauses_the_connection_instead_of_buffering(
        fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http1_async, "STREAM_BUFFER_LIMIT", 64)
    paused: list[bool] = []
    take_pieces = http1_async.ReplyProtocol.take_pieces

    def watched(self: http1_async.ReplyProtocol) -> list[bytes]:
        paused.append(self.paused)
        return take_pieces(self)

    monkeypatch.setattr(http1_async.ReplyProtocol, "take_pieces", watched)
    words = [f"w{index} " for index in range(200)]
    fake_server.script(openai_stream(words))

    async def slowly() -> str:
        text = ""
        async for chunk in sender(fake_server.openai_url).astream(REQUEST):
            text += chunk.text
            await asyncio.sleep(0.001)
        return text

    assert asyncio.run(slowly()) == "".join(words)
    assert any(paused)


# -- proxies and TLS ----------------------------------------------------------------------
@pytest.fixture
def proxy_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy_for.cache_clear()
    yield monkeypatch
    proxy_for.cache_clear()


def test_plain_http_goes_through_the_environments_proxy(fake_server: FakeLLMServer, mode: str,
                                                        proxy_environment: pytest.MonkeyPatch) -> None:
    proxy_environment.setenv("HTTP_PROXY", "http://user:s3cret@" + fake_server.url.split("//")[1])
    fake_server.script(openai_text("via proxy"))
    assert texts(sender("http://llm.invalid:8080/v1"), mode) == ["via proxy"]
    request = fake_server.requests[0]
    assert request.path == "http://llm.invalid:8080/v1/chat/completions"
    assert request.headers["host"] == "llm.invalid:8080"
    assert request.headers["proxy-authorization"] == "Basic dXNlcjpzM2NyZXQ="
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_no_proxy_sends_directly(fake_server: FakeLLMServer, mode: str,
                                 proxy_environment: pytest.MonkeyPatch) -> None:
    proxy_environment.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    proxy_environment.setenv("NO_PROXY", "127.0.0.1")
    fake_server.script(openai_text("direct"))
    assert texts(sender(fake_server.openai_url), mode) == ["direct"]
    assert fake_server.requests[0].path == "/v1/chat/completions"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[FakeLLMServer]:
    server = FakeLLMServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server._server.socket = context.wrap_socket(server._server.socket, server_side=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def trusting(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The layer's TLS context trusts the test certificate (and verifies it as it would the system's roots)."""
    monkeypatch.setattr(http1, "_tls_context", ssl.create_default_context(cafile=str(certificate[0])))


def test_https_verifies_the_servers_certificate(tls_server: FakeLLMServer, certificate: tuple[Path, Path],
                                                monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    url = tls_server.openai_url.replace("http://", "https://")
    tls_server.responder = lambda request: openai_text("secure")
    monkeypatch.setattr(http1, "_tls_context", None)
    with pytest.raises(ProviderError, match="CERTIFICATE_VERIFY_FAILED"):
        texts(sender(url), mode)
    monkeypatch.setattr(http1, "_tls_context", ssl.create_default_context(cafile=str(certificate[0])))
    assert texts(sender(url), mode, 2) == ["secure", "secure"]
    assert len({request.peer for request in tls_server.requests}) == 1


def test_https_goes_through_the_proxy_in_a_connect_tunnel(tls_server: FakeLLMServer, trusting: None, mode: str,
                                                          proxy_environment: pytest.MonkeyPatch) -> None:
    url = tls_server.openai_url.replace("http://", "https://")
    tls_server.responder = lambda request: openai_text("tunnelled")
    with TunnelProxy() as proxy:
        proxy_environment.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://user:s3cret@"))
        assert texts(sender(url), mode, 2) == ["tunnelled", "tunnelled"]
    authority = url.split("//")[1].split("/")[0].encode()
    assert len(proxy.heads) == 1  # one tunnel, kept alive for both calls
    assert proxy.heads[0].startswith(b"CONNECT " + authority + b" HTTP/1.1\r\n")
    assert b"Proxy-Authorization: Basic dXNlcjpzM2NyZXQ=" in proxy.heads[0]
    assert tls_server.requests[0].path == "/v1/chat/completions"  # the server saw the request, not the proxy


def test_a_stream_through_a_connect_tunnel(tls_server: FakeLLMServer, trusting: None, mode: str,
                                           proxy_environment: pytest.MonkeyPatch) -> None:
    url = tls_server.openai_url.replace("http://", "https://")
    tls_server.script(openai_stream(["through ", "the tunnel"]))
    with TunnelProxy() as proxy:
        proxy_environment.setenv("HTTPS_PROXY", proxy.url)
        assert "".join(chunk.text for chunk in chunks(sender(url), mode)) == "through the tunnel"


def test_a_proxy_refusing_the_tunnel_is_a_connection_failure(mode: str,
                                                              proxy_environment: pytest.MonkeyPatch) -> None:
    with TunnelProxy(refuse=403) as proxy:
        proxy_environment.setenv("HTTPS_PROXY", proxy.url)
        with pytest.raises(ProviderError, match="refused a tunnel to llm.invalid:443 \\(HTTP 403\\)") as raised:
            texts(sender("https://llm.invalid/v1"), mode)
    assert KEY not in str(raised.value) and KEY not in repr(raised.value)


def test_no_key_in_the_reprs_of_the_transport_and_its_routes(fake_server: FakeLLMServer) -> None:
    provider = sender(fake_server.openai_url)
    route = http1.route_for(provider.connection())
    for text in (repr(CHAT_COMPLETIONS), repr(route), repr(provider)):
        assert KEY not in text
