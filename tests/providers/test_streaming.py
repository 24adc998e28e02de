"""Streaming: ``stream=True`` yields text chunks (SSE over real HTTP), sync and async."""

from __future__ import annotations

import asyncio

import pytest

from byllm.lib import ConfigurationError, Model, ProviderError, by
from fake_server import FakeLLMServer, error, openai_stream

KEY = "sk-stream-123456789"


def test_stream_yields_the_chunks_the_server_sends(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)

    @by(llm(stream=True))
    def story(topic: str) -> str:
        """A very short story."""

    fake_server.script(openai_stream(["Once", " upon", " a", " time."]))
    chunks = story("time")
    assert list(chunks) == ["Once", " upon", " a", " time."]
    assert fake_server.requests[0].body["stream"] is True
    assert llm.last_call.value == "Once upon a time."


def test_async_stream_yields_chunks(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)

    @by(llm(stream=True))
    async def story(topic: str) -> str:
        """A very short story."""

    async def collect() -> list[str]:
        return [chunk async for chunk in await story("sea")]

    fake_server.script(openai_stream(["Waves", " rolled."]))
    assert asyncio.run(collect()) == ["Waves", " rolled."]


def test_stream_is_retried_before_the_first_chunk(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY, retry_backoff=0.001)

    @by(llm(stream=True))
    def story(topic: str) -> str:
        """A story."""

    fake_server.script(error(503, "warming up"), openai_stream(["ok"]))
    assert "".join(story("x")) == "ok"
    assert len(fake_server.requests) == 2


def test_stream_failure_is_typed_and_recorded(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY, max_retries=0)

    @by(llm(stream=True))
    def story(topic: str) -> str:
        """A story."""

    fake_server.script(error(400, "bad request"))
    with pytest.raises(ProviderError, match="bad request"):
        list(story("x"))
    assert isinstance(llm.last_call.error, ProviderError)


def test_streaming_a_non_text_return_type_is_a_configuration_error() -> None:
    llm = Model("mockllm", outputs=["1"])

    @by(llm(stream=True))
    def count(text: str) -> int:
        """Count words."""

    with pytest.raises(ConfigurationError, match="stream=True needs a function returning str"):
        count("a b")


def test_streaming_with_tools_is_a_configuration_error() -> None:
    def tool() -> str:
        """A tool."""
        return "x"

    llm = Model("mockllm", outputs=["x"])

    @by(llm(stream=True, tools=[tool]))
    def talk(text: str) -> str:
        """Talk."""

    with pytest.raises(ConfigurationError, match="cannot be combined with tools"):
        talk("hi")


def test_mock_model_streams_word_by_word() -> None:
    llm = Model("mockllm", outputs=["one two three"])

    @by(llm(stream=True))
    def words(text: str) -> str:
        """Words."""

    assert list(words("x")) == ["one", " two", " three"]


def test_stopping_early_closes_the_stream(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)

    @by(llm(stream=True))
    def story(topic: str) -> str:
        """A story."""

    fake_server.script(openai_stream(["a", "b", "c"]))
    chunks = story("x")
    assert next(chunks) == "a"
    chunks.close()
    assert llm.last_call is None  # an abandoned stream records nothing
