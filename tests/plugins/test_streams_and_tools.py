"""Usage, call log, cache and tracing each see streamed calls (sync and async) and tool turns."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from byllm.lib import Model, by
from byllm.plugins import cache
from byllm.plugins.calllog import open_log
from byllm.plugins.usage import last_usage, run_usage
from byllm.providers.base import CompletionReply, ToolCall, Usage
from byllm.settings import reload_settings


@pytest.fixture
def everything_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Cache and log switched on by the environment, spans collected in memory."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from byllm.plugins import tracing

    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/cache.db")
    monkeypatch.setenv("BYLLM_LOG", str(tmp_path / "logs.db"))
    reload_settings()
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer_provider(tracer_provider)
    yield tmp_path / "logs.db", exporter
    tracer_provider.shutdown()


def stream_of(model: Model, *, is_async: bool):
    if is_async:

        @by(model(stream=True))
        async def tell(topic: str) -> str:
            """Tell a story about the topic."""

        return tell

    @by(model(stream=True))
    def tell(topic: str) -> str:
        """Tell a story about the topic."""

    return tell


def read(tell, topic: str, is_async: bool) -> list[str]:
    if not is_async:
        return list(tell(topic))

    async def collect() -> list[str]:
        return [chunk async for chunk in await tell(topic)]

    return asyncio.run(collect())


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_every_plugin_sees_a_streamed_call(everything_on, provider, is_async: bool) -> None:
    log_file, spans = everything_on
    provider.answer = lambda request: "once upon a time"
    tell = stream_of(Model("test/gpt-4o"), is_async=is_async)

    first = read(tell, "dragons", is_async)
    assert first == ["once", " upon", " a", " time"]
    # usage: the stream's tokens and cost
    assert (last_usage().input_tokens, last_usage().output_tokens, last_usage().cached_completions) == (100, 20, 0)
    assert last_usage().cost == pytest.approx((100 * 2.50 + 20 * 10.00) / 1_000_000)

    # cache: stored when the stream ended, replayed as the same chunks
    assert read(tell, "dragons", is_async) == first
    assert provider.calls == 1 and cache.counters().hits == 1
    assert last_usage().cached_completions == 1 and last_usage().cost == 0.0
    assert run_usage().calls == 2

    # call log: one row per streamed call, marked streamed, the second from the cache
    second, logged = open_log(log_file).recent()
    assert (logged.value, logged.streamed, logged.replies[0]["chunks"]) == ("once upon a time", True, 4)
    assert (second.value, second.cached_completions) == ("once upon a time", 1)

    # tracing: a call span and a completion span per call
    names = sorted(span.name for span in spans.get_finished_spans())
    assert names == ["by_llm " + logged.function] * 2 + ["chat gpt-4o"] * 2
    chat = next(span for span in spans.get_finished_spans() if span.name == "chat gpt-4o")
    assert chat.attributes["byllm.streamed"] is True and chat.attributes["gen_ai.usage.output_tokens"] == 20


def test_a_stream_read_only_in_part_is_not_cached(everything_on, provider) -> None:
    provider.answer = lambda request: "once upon a time"
    tell = stream_of(Model("test/m"), is_async=False)
    stream = tell("dragons")
    assert next(iter(stream)) == "once"
    stream.close()
    assert cache.counters().stores == 0
    assert list(tell("dragons")) == ["once", " upon", " a", " time"]
    assert provider.calls == 2


def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def tool_then_finish(request) -> CompletionReply:
    """First ask for the weather tool, then finish with what it said."""
    if request.messages[-1]["role"] != "tool":
        return CompletionReply(tool_calls=[ToolCall("call-1", "weather", {"city": "Paris"})], usage=Usage(50, 5), model=request.model)
    return CompletionReply(tool_calls=[ToolCall("call-2", "finish_tool", {"final_output": "It is sunny."})],
                           usage=Usage(80, 8), model=request.model)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_every_plugin_sees_tool_turns(everything_on, provider, is_async: bool) -> None:
    log_file, spans = everything_on
    provider.answer = tool_then_finish
    llm = Model("test/gpt-4o", tools=[weather])

    if is_async:

        @by(llm)
        async def forecast(city: str) -> str:
            """Say what the weather is."""

        result = asyncio.run(forecast("Paris"))
    else:

        @by(llm)
        def forecast(city: str) -> str:
            """Say what the weather is."""

        result = forecast("Paris")
    assert result == "It is sunny."
    assert (last_usage().completions, last_usage().input_tokens, last_usage().output_tokens) == (2, 130, 13)
    (logged,) = open_log(log_file).recent()
    assert [turn["name"] for turn in logged.tool_turns] == ["weather"]
    assert logged.tool_turns[0]["result"] == "sunny in Paris"
    assert [reply["tool_calls"][0]["name"] for reply in logged.replies] == ["weather", "finish_tool"]
    call = next(span for span in spans.get_finished_spans() if span.name.startswith("by_llm "))
    assert [event.attributes["gen_ai.tool.name"] for event in call.events] == ["weather"]
    chats = [span for span in spans.get_finished_spans() if span.name.startswith("chat ")]
    assert [chat.attributes["gen_ai.response.finish_reasons"] for chat in chats] == [("tool_calls",), ("tool_calls",)]
    # the cache answers the whole loop again; the tool still runs
    assert forecast("Paris") if not is_async else asyncio.run(forecast("Paris"))
    assert provider.calls == 2 and cache.counters().hits == 2
