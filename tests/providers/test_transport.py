"""Transport reliability: retries with backoff and Retry-After, timeouts, typed errors (real HTTP)."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time

import pytest

from byllm.lib import (
    AuthenticationError,
    ConfigurationError,
    Model,
    ProviderError,
    ProviderTimeout,
    RateLimitError,
    by,
)
from byllm.providers.transport import RetryPolicy, retry_after_seconds
from fake_server import FakeLLMServer, drop, error, openai_text, slow

KEY = "sk-transport-0123456789abcdef"


def ask(fake_server: FakeLLMServer, **config: object):
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY, retry_backoff=0.001, **config)

    @by(llm)
    def echo(text: str) -> str:
        """Echo the text."""

    return echo


def retry_waits(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage().split(" in ")[1].split(" after")[0]
            for record in caplog.records if record.name == "byllm.providers.transport"]


def test_rate_limit_is_retried_after_the_wait_the_server_asks_for(fake_server: FakeLLMServer,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="byllm.providers.transport")
    fake_server.script(error(429, "slow down", retry_after="1"), openai_text("done"))
    assert ask(fake_server)("x") == "done"
    assert len(fake_server.requests) == 2
    assert retry_waits(caplog) == ["1.000s"]


def test_retry_after_ms_header_takes_precedence(fake_server: FakeLLMServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="byllm.providers.transport")
    fake_server.script(error(429, retry_after="7", headers={"retry-after-ms": "25"}), openai_text("done"))
    assert ask(fake_server)("x") == "done"
    assert retry_waits(caplog) == ["0.025s"]


def test_server_errors_are_retried_with_backoff_until_success(fake_server: FakeLLMServer) -> None:
    fake_server.script(error(500, "boom"), error(503, "busy"), openai_text("recovered"))
    assert ask(fake_server, max_retries=3)("x") == "recovered"
    assert len(fake_server.requests) == 3


def test_persistent_server_error_raises_provider_error_with_status_and_message(fake_server: FakeLLMServer) -> None:
    fake_server.script(*[error(500, "the model crashed") for _ in range(3)])
    with pytest.raises(ProviderError) as raised:
        ask(fake_server, max_retries=2)("x")
    assert raised.value.status == 500
    assert raised.value.provider == "openai"
    assert "the model crashed" in str(raised.value)
    assert len(fake_server.requests) == 3  # one try plus max_retries


def test_persistent_rate_limit_raises_rate_limit_error(fake_server: FakeLLMServer) -> None:
    fake_server.script(*[error(429, "quota exceeded", retry_after="0") for _ in range(2)])
    with pytest.raises(RateLimitError, match="quota exceeded") as raised:
        ask(fake_server, max_retries=1)("x")
    assert raised.value.status == 429


def test_retry_after_beyond_the_cap_fails_at_once(fake_server: FakeLLMServer) -> None:
    fake_server.script(error(429, "come back tomorrow", retry_after="86400"))
    with pytest.raises(RateLimitError):
        ask(fake_server, max_retries=5)("x")
    assert len(fake_server.requests) == 1


def test_authentication_failure_is_not_retried_and_never_shows_the_key(fake_server: FakeLLMServer) -> None:
    fake_server.script(error(401, f"invalid key {KEY}"))
    with pytest.raises(AuthenticationError) as raised:
        ask(fake_server, max_retries=3)("x")
    assert len(fake_server.requests) == 1
    assert KEY not in str(raised.value) and KEY[-8:] not in str(raised.value)


def test_client_errors_are_not_retried(fake_server: FakeLLMServer) -> None:
    fake_server.script(error(400, "max_tokens is too large"))
    with pytest.raises(ProviderError, match="max_tokens is too large") as raised:
        ask(fake_server, max_retries=3)("x")
    assert raised.value.status == 400
    assert len(fake_server.requests) == 1


def test_dropped_connection_is_retried(fake_server: FakeLLMServer) -> None:
    fake_server.script(drop(), openai_text("second time lucky"))
    assert ask(fake_server)("x") == "second time lucky"
    assert len(fake_server.requests) == 2


def test_persistently_dropped_connection_raises_provider_error(fake_server: FakeLLMServer) -> None:
    fake_server.script(drop(), drop())
    with pytest.raises(ProviderError, match="connection failed") as raised:
        ask(fake_server, max_retries=1)("x")
    assert raised.value.status is None


def test_slow_reply_past_the_timeout_raises_provider_timeout(fake_server: FakeLLMServer) -> None:
    fake_server.script(slow(30, openai_text("too late")))
    with pytest.raises(ProviderTimeout, match="timeout"):
        ask(fake_server, timeout=0.3, max_retries=0)("x")


def test_slow_reply_is_retried_after_a_timeout(fake_server: FakeLLMServer) -> None:
    fake_server.script(slow(30, openai_text("too late")), openai_text("in time"))
    assert ask(fake_server, timeout=1.0, max_retries=1)("x") == "in time"


def test_async_calls_retry_the_same_way(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY, retry_backoff=0.001)

    @by(llm)
    async def echo(text: str) -> str:
        """Echo the text."""

    fake_server.script(error(429, retry_after="0"), error(502), drop(), openai_text("async ok"))
    assert asyncio.run(echo("x")) == "async ok"
    assert len(fake_server.requests) == 4


def test_async_errors_are_typed(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY, max_retries=0)

    @by(llm)
    async def echo(text: str) -> str:
        """Echo the text."""

    fake_server.script(error(403, "forbidden"))
    with pytest.raises(AuthenticationError, match="forbidden"):
        asyncio.run(echo("x"))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "NaN", "retry-after-ms": "nan"}, None),
        ({"retry-after-ms": "nan", "retry-after": "2"}, 2.0),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "inf"}, float("inf")),
        ({"retry-after": "1e400"}, float("inf")),
        ({"retry-after": "Mon, 99 Foo 20xx 99:99:99 GMT"}, None),
        ({"retry-after": "Thu, 01 Jan 1970 00:00:00 GMT"}, 0.0),
        ({"retry-after": ""}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_header_parsing(headers: dict[str, str] | None, expected: float | None) -> None:
    assert retry_after_seconds(headers) == expected


def test_retry_after_http_date_is_seconds_from_now() -> None:
    moment = email.utils.formatdate(time.time() + 120, usegmt=True)
    seconds = retry_after_seconds({"retry-after": moment})
    assert seconds is not None and 100 < seconds <= 120


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(backoff=1.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (10, 20.0)]:
        delay = policy.backoff_delay(attempt)
        assert ceiling / 2 <= delay <= ceiling


def test_invalid_transport_settings_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="max_retries"):
        Model("gpt-4o-mini", api_key=KEY, max_retries=-1).provider
    with pytest.raises(ConfigurationError, match="timeout"):
        Model("gpt-4o-mini", api_key=KEY, timeout=0).provider


def test_bugs_are_not_disguised_as_provider_errors() -> None:
    from byllm.providers.transport import call_with_retries, classify_error

    def broken() -> None:
        raise TypeError("unexpected keyword argument 'temprature'")

    with pytest.raises(TypeError, match="temprature"):
        call_with_retries(broken, RetryPolicy(max_retries=3), lambda error: classify_error(error, "x"), "x")
