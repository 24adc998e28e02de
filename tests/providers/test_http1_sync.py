"""byllm's synchronous sender (h11 over sockets): keep-alive, dead connections, timeouts, streams, errors, proxies, TLS."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest

import byllm
from byllm.errors import MalformedReplyError
from byllm.lib import AuthenticationError, Model, ProviderError, ProviderTimeout, RateLimitError, by
from byllm.providers import http1, http1_sync
from byllm.providers.base import CompletionRequest
from byllm.providers.chat_completions import CHAT_COMPLETIONS, proxy_for
from byllm.providers.openai_provider import OpenAICompatibleProvider
from byllm.providers.transport import RetryPolicy
from fake_server import (
    FakeLLMServer,
    Scripted,
    drop,
    error,
    malformed,
    openai_stream,
    openai_text,
    reset_mid_body,
    slow,
)

KEY = "sk-h11-0123456789abcdef"
REQUEST = CompletionRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])


def sender(url: str, *, retries: int = 0, timeout: float | None = 5.0) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(base_url=url, api_key=KEY, transport=CHAT_COMPLETIONS,
                                    policy=RetryPolicy(max_retries=retries, backoff=0.0, timeout=timeout))


def closed_after(reply: Scripted) -> Scripted:
    """``reply``, then the server closes the kept-alive connection without having said it would."""
    return Scripted(status=reply.status, body=reply.body, headers=reply.headers, close=True)


# -- keep-alive -------------------------------------------------------------------------
def test_sequential_sync_calls_reuse_one_kept_alive_connection(fake_server: FakeLLMServer) -> None:
    fake_server.responder = lambda request: openai_text("ok")
    provider = sender(fake_server.openai_url)
    assert [provider.complete(REQUEST).text for _ in range(5)] == ["ok"] * 5
    assert len({request.peer for request in fake_server.requests}) == 1


def test_a_connection_the_server_closed_while_idle_is_not_used(fake_server: FakeLLMServer) -> None:
    fake_server.script(closed_after(openai_text("first")), openai_text("second"))
    provider = sender(fake_server.openai_url)
    assert provider.complete(REQUEST).text == "first"
    assert provider.complete(REQUEST).text == "second"  # max_retries=0: no retry was needed
    first, second = fake_server.requests
    assert first.peer != second.peer


def test_a_kept_alive_connection_dropped_as_the_request_goes_out_is_replaced_once(
        fake_server: FakeLLMServer) -> None:
    fake_server.script(openai_text("first"), drop(), openai_text("second"))
    provider = sender(fake_server.openai_url)
    assert provider.complete(REQUEST).text == "first"
    assert provider.complete(REQUEST).text == "second"  # max_retries=0: the transport replaced the connection
    first, dropped, answered = fake_server.requests
    assert dropped.peer == first.peer and answered.peer != first.peer
    assert answered.raw == dropped.raw


def test_a_fresh_connection_closed_without_an_answer_is_a_connection_failure(fake_server: FakeLLMServer) -> None:
    fake_server.script(drop(), drop())
    with pytest.raises(ProviderError, match="connection failed.*without answering") as raised:
        sender(fake_server.openai_url, retries=1).complete(REQUEST)
    assert raised.value.attempts == 2 and len(fake_server.requests) == 2


def test_a_reply_cut_off_mid_body_is_not_retried_by_the_transport_itself(fake_server: FakeLLMServer) -> None:
    fake_server.script(openai_text("first"), reset_mid_body(openai_text("cut")), openai_text("never"))
    provider = sender(fake_server.openai_url)
    assert provider.complete(REQUEST).text == "first"
    with pytest.raises(ProviderError, match="connection failed"):
        provider.complete(REQUEST)
    assert len(fake_server.requests) == 2  # bytes of the reply had arrived: only byllm's retries may resend


def test_threads_share_the_pool_and_leave_their_connections_in_it(fake_server: FakeLLMServer) -> None:
    fake_server.responder = lambda request: slow(0.05, openai_text("ok"))
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)

    @by(llm)
    def echo(text: str) -> str:
        """Echo."""

    assert byllm.map(echo, [str(n) for n in range(24)], concurrency=8, progress=False) == ["ok"] * 24
    peers = {request.peer for request in fake_server.requests}
    assert len(peers) <= 8
    route = http1.route_for(llm.provider.connection())
    assert 1 <= len(http1_sync.cached_client(route.pool_key, http1_sync.new_pool)) <= 8


# -- timeouts -----------------------------------------------------------------------------
def test_a_reply_slower_than_the_timeout_is_a_provider_timeout(fake_server: FakeLLMServer) -> None:
    fake_server.script(slow(2.0, openai_text("late")))
    with pytest.raises(ProviderTimeout, match="no answer within"):
        sender(fake_server.openai_url, timeout=0.2).complete(REQUEST)


def test_a_connect_timeout_is_a_provider_timeout() -> None:
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
            sender(f"http://{host}:{port}/v1", timeout=0.3).complete(REQUEST)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_a_stream_may_outlast_the_timeout_while_each_event_arrives_within_it(fake_server: FakeLLMServer) -> None:
    stream = openai_stream(["a", "b", "c", "d"])
    fake_server.script(Scripted(events=stream.events, gap=0.1))
    chunks = sender(fake_server.openai_url, timeout=0.3).stream(REQUEST)
    assert "".join(chunk.text for chunk in chunks) == "abcd"  # about 0.6 s in all


def test_a_stream_stalling_longer_than_the_timeout_is_a_provider_timeout(fake_server: FakeLLMServer) -> None:
    events = openai_stream(["a", "b"]).events or []
    fake_server.script(Scripted(events=events, gap=0.6))
    provider = sender(fake_server.openai_url, timeout=0.2)
    with pytest.raises(ProviderTimeout):
        list(provider.stream(REQUEST))


# -- replies and errors -------------------------------------------------------------------
def test_error_statuses_carry_the_servers_message_and_retry_after(fake_server: FakeLLMServer) -> None:
    fake_server.script(error(429, "slow down", retry_after="0"), openai_text("ok"),
                       error(401, "bad key"), error(400, "max_tokens is too large"),
                       Scripted(status=503, raw=b"upstream gone", content_type="text/plain"),
                       error(429, "slow down", retry_after="3600"))
    assert sender(fake_server.openai_url, retries=1).complete(REQUEST).text == "ok"  # retried after Retry-After
    provider = sender(fake_server.openai_url)
    with pytest.raises(AuthenticationError, match="bad key"):
        provider.complete(REQUEST)
    with pytest.raises(ProviderError, match="HTTP 400.*max_tokens is too large") as raised:
        provider.complete(REQUEST)
    assert raised.value.status == 400
    with pytest.raises(ProviderError, match="HTTP 503.*upstream gone"):
        provider.complete(REQUEST)
    with pytest.raises(RateLimitError, match="longer than byllm waits"):
        sender(fake_server.openai_url, retries=1).complete(REQUEST)
    assert len({request.peer for request in fake_server.requests}) == 1  # error replies keep the connection


def test_a_reply_that_is_not_json_is_a_malformed_reply(fake_server: FakeLLMServer) -> None:
    fake_server.script(malformed())
    with pytest.raises(MalformedReplyError, match="not a chat completion"):
        sender(fake_server.openai_url).complete(REQUEST)


def test_a_sync_stream_yields_its_chunks_and_usage_and_an_error_event_is_typed(fake_server: FakeLLMServer) -> None:
    fake_server.script(openai_stream(["Hel", "lo"], usage=(3, 2)))
    chunks = list(sender(fake_server.openai_url).stream(REQUEST))
    assert [chunk.text for chunk in chunks] == ["Hel", "lo", ""]
    assert (chunks[-1].usage.input_tokens, chunks[-1].usage.output_tokens) == (3, 2)
    events = openai_stream(["one"]).events or []
    fake_server.script(Scripted(events=[events[0], (None, '{"error": {"message": "overloaded"}}')]))
    with pytest.raises(ProviderError, match="overloaded"):
        list(sender(fake_server.openai_url).stream(REQUEST))


def test_a_stream_cut_off_before_its_end_is_a_connection_failure(fake_server: FakeLLMServer) -> None:
    fake_server.script(reset_mid_body(openai_stream(["a", "b", "c"]), keep=2))
    chunks = sender(fake_server.openai_url).stream(REQUEST)
    assert next(chunks).text == "a"
    with pytest.raises(ProviderError, match="connection"):
        list(chunks)


# -- proxies and TLS ----------------------------------------------------------------------
@pytest.fixture
def proxy_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy_for.cache_clear()
    yield monkeypatch
    proxy_for.cache_clear()


def test_plain_http_goes_through_the_environments_proxy(fake_server: FakeLLMServer,
                                                        proxy_environment: pytest.MonkeyPatch) -> None:
    proxy_environment.setenv("HTTP_PROXY", "http://user:s3cret@" + fake_server.url.split("//")[1])
    fake_server.script(openai_text("via proxy"))
    assert sender("http://llm.invalid:8080/v1").complete(REQUEST).text == "via proxy"
    request = fake_server.requests[0]
    assert request.path == "http://llm.invalid:8080/v1/chat/completions"
    assert request.headers["host"] == "llm.invalid:8080"
    assert request.headers["proxy-authorization"] == "Basic dXNlcjpzM2NyZXQ="
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_no_proxy_sends_directly(fake_server: FakeLLMServer, proxy_environment: pytest.MonkeyPatch) -> None:
    proxy_environment.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    proxy_environment.setenv("NO_PROXY", "127.0.0.1")
    fake_server.script(openai_text("direct"))
    assert sender(fake_server.openai_url).complete(REQUEST).text == "direct"
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


def test_https_verifies_the_servers_certificate(tls_server: FakeLLMServer, certificate: tuple[Path, Path],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    url = tls_server.openai_url.replace("http://", "https://")
    tls_server.responder = lambda request: openai_text("secure")
    monkeypatch.setattr(http1, "_tls_context", None)
    with pytest.raises(ProviderError, match="CERTIFICATE_VERIFY_FAILED"):
        sender(url).complete(REQUEST)
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    monkeypatch.setattr(http1, "_tls_context", trusting)
    provider = sender(url)
    assert [provider.complete(REQUEST).text for _ in range(2)] == ["secure", "secure"]
    assert len({request.peer for request in tls_server.requests}) == 1


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
