"""Streaming: every provider yields ``StreamChunk``\\ s (SSE over real HTTP), usage on the last, sync and async."""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

import pytest

from byllm.lib import ConfigurationError, Model, ProviderError, by
from byllm.providers.base import CompletionRequest, StreamChunk, Usage
from byllm.providers.registry import builtin_provider
from fake_server import FakeLLMServer, anthropic_stream, error, openai_stream, reset_mid_body

KEY = "sk-stream-123456789"
needs_litellm = pytest.mark.skipif(importlib.util.find_spec("litellm") is None, reason="LiteLLM is an optional extra")


def request(model: str = "fake-model") -> CompletionRequest:
    return CompletionRequest(model=model, messages=[{"role": "user", "content": "tell a story"}], stream=True)


def openai(fake_server: FakeLLMServer, **config: Any) -> Any:
    return builtin_provider("gpt-4o-mini", {"base_url": fake_server.openai_url, "api_key": KEY,
                                            "retry_backoff": 0.001, **config})


def anthropic(fake_server: FakeLLMServer, **config: Any) -> Any:
    return builtin_provider("anthropic/claude-3-5-haiku-latest", {"base_url": fake_server.url, "api_key": KEY,
                                                                  "retry_backoff": 0.001, **config})


async def collect(chunks: Any) -> list[StreamChunk]:
    return [chunk async for chunk in chunks]


def test_openai_stream_asks_for_usage_and_reports_it_on_the_last_chunk(fake_server: FakeLLMServer) -> None:
    fake_server.script(openai_stream(["Once", " upon", " a", " time."], usage=(21, 4)))
    chunks = list(openai(fake_server).stream(request()))
    assert chunks == [StreamChunk("Once"), StreamChunk(" upon"), StreamChunk(" a"), StreamChunk(" time."),
                      StreamChunk("", Usage(21, 4))]
    body = fake_server.requests[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_openai_async_stream_reports_usage_too(fake_server: FakeLLMServer) -> None:
    fake_server.script(openai_stream(["Waves", " rolled."], usage=(5, 2)))
    chunks = asyncio.run(collect(openai(fake_server).astream(request())))
    assert [chunk.text for chunk in chunks] == ["Waves", " rolled.", ""]
    assert chunks[-1].usage == Usage(5, 2)


def test_server_without_stream_usage_yields_text_only(fake_server: FakeLLMServer) -> None:
    fake_server.script(openai_stream(["a", "b"], usage=None))
    assert list(openai(fake_server).stream(request())) == [StreamChunk("a"), StreamChunk("b")]


def test_anthropic_stream_usage_comes_from_message_start_and_message_delta(fake_server: FakeLLMServer) -> None:
    fake_server.script(anthropic_stream(["Roses", " are", " red"], input_tokens=17),
                       anthropic_stream(["Blue"], input_tokens=9))
    provider = anthropic(fake_server)
    chunks = list(provider.stream(request("claude-3-5-haiku-latest")))
    assert [chunk.text for chunk in chunks] == ["Roses", " are", " red", ""]
    assert chunks[-1].usage == Usage(17, 3)  # output tokens: the cumulative count of the last message_delta
    assert "stream_options" not in fake_server.requests[0].body
    assert asyncio.run(collect(provider.astream(request())))[-1].usage == Usage(9, 1)


@needs_litellm
def test_litellm_stream_reports_usage(fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    provider = builtin_provider("litellm/openai/fake-model", {"base_url": fake_server.openai_url, "api_key": KEY})
    fake_server.script(openai_stream(["x", "y"], usage=(3, 2)), openai_stream(["z"], usage=(4, 1)))
    chunks = list(provider.stream(request("openai/fake-model")))
    assert [chunk.text for chunk in chunks if chunk.text] == ["x", "y"]
    assert chunks[-1].usage == Usage(3, 2)
    assert asyncio.run(collect(provider.astream(request("openai/fake-model"))))[-1].usage == Usage(4, 1)


def test_mock_streams_word_by_word_with_usage_on_the_last_chunk() -> None:
    provider = builtin_provider("mockllm", {"outputs": ["one two three"]})
    chunks = list(provider.stream(request("mockllm")))
    # Plain text pieces, then a StreamChunk carrying the usage (both kinds are valid stream pieces).
    assert chunks[:2] == ["one", " two"]
    assert chunks[2] == StreamChunk(" three", Usage(0, 0))


def test_failures_before_the_first_chunk_are_retried(fake_server: FakeLLMServer) -> None:
    # A 503, then a stream reset before any text arrived: both retried; the third stream is read.
    fake_server.script(error(503, "warming up"), reset_mid_body(openai_stream(["lost"]), keep=1),
                       openai_stream(["ok"]))
    assert [chunk.text for chunk in openai(fake_server).stream(request())] == ["ok", ""]
    assert len(fake_server.requests) == 3


def test_a_failure_after_text_has_flowed_is_typed_and_not_retried(fake_server: FakeLLMServer) -> None:
    fake_server.script(reset_mid_body(openai_stream(["one", " two", " three", " four", " five"])))
    chunks = openai(fake_server).stream(request())
    assert next(chunks).text == "one"
    with pytest.raises(ProviderError, match="connection"):
        list(chunks)
    assert len(fake_server.requests) == 1


def test_a_stream_without_any_text_is_an_empty_reply_error(fake_server: FakeLLMServer) -> None:
    from byllm.errors import EmptyReplyError

    fake_server.script(openai_stream([]), openai_stream([]))
    with pytest.raises(EmptyReplyError, match="no content.*gave up after 2 attempts"):
        list(openai(fake_server, max_retries=1).stream(request()))


def test_stream_errors_are_typed(fake_server: FakeLLMServer) -> None:
    fake_server.script(error(400, "bad request"))
    with pytest.raises(ProviderError, match="bad request") as raised:
        list(openai(fake_server, max_retries=0).stream(request()))
    assert raised.value.status == 400


def test_stopping_early_closes_the_stream(fake_server: FakeLLMServer) -> None:
    fake_server.script(openai_stream(["a", "b", "c"]))
    chunks = openai(fake_server).stream(request())
    assert next(chunks).text == "a"
    chunks.close()  # closes the HTTP response: nothing is left reading the socket
    fake_server.script(openai_stream(["next"]))
    assert [chunk.text for chunk in openai(fake_server).stream(request())] == ["next", ""]


# -- through by llm(stream=True) ---------------------------------------------------------
def test_by_llm_stream_yields_the_text_chunks(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)

    @by(llm(stream=True))
    def story(topic: str) -> str:
        """A very short story."""

    @by(llm(stream=True))
    async def astory(topic: str) -> str:
        """A very short story."""

    async def read_async() -> list[str]:
        return [chunk async for chunk in await astory("sea")]

    fake_server.script(openai_stream(["Once", " upon"]), openai_stream(["Waves"]))
    assert list(story("time")) == ["Once", " upon"]
    assert asyncio.run(read_async()) == ["Waves"]


def test_streaming_a_non_text_return_type_is_a_configuration_error() -> None:
    llm = Model("mockllm", outputs=["1"])

    @by(llm(stream=True))
    def count(text: str) -> int:
        """Count words."""

    with pytest.raises(ConfigurationError, match="stream=True needs a function returning str"):
        count("a b")
