"""The tool loop: schemas, running tools (concurrently), errors fed back, finish_tool, limits."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass

import pytest

from byllm.lib import ConfigurationError, MaxIterationsError, MockToolCall, Model, OutputConversionError, by, sem
from byllm.tools import FINISH_TOOL, Tool
from fake_server import FakeLLMServer, openai_text, openai_tool_calls


@dataclass
class Forecast:
    city: str
    celsius: int


@sem("Current temperature in a city, in degrees Celsius.", city="city name in English", unit="'C' or 'F'")
def temperature(city: str, unit: str = "C") -> int:
    return {"Oslo": 3, "Cairo": 31}[city]


def fails(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"cannot do it: {reason}")


class Calendar:
    """A calendar owned by one person."""

    def __init__(self) -> None:
        self.booked: list[str] = []

    def book(self, slot: str) -> str:
        """Book a time slot."""
        self.booked.append(slot)
        return f"booked {slot}"


def test_tool_schema_comes_from_signature_docstring_and_sem() -> None:
    spec = Tool(temperature).spec
    assert spec.name == "temperature"
    assert spec.description == "Current temperature in a city, in degrees Celsius."
    assert spec.parameters["required"] == ["city"]
    assert spec.parameters["properties"]["city"] == {"type": "string", "description": "city name in English"}
    assert spec.parameters["properties"]["unit"]["default"] == "C"
    assert Tool(fails).spec.description == "Always fails."


def test_mock_tool_calls_run_tools_and_feed_results_back() -> None:
    llm = Model("mockllm", outputs=[
        MockToolCall(temperature, {"city": "Oslo"}),
        MockToolCall(FINISH_TOOL, {"final_output": {"city": "Oslo", "celsius": 3}}),
    ])

    @by(llm(tools=[temperature]))
    def forecast(city: str) -> Forecast:
        """The forecast for a city."""

    assert forecast("Oslo") == Forecast("Oslo", 3)
    second = llm.provider.requests[1]
    assert second.messages[-1] == {"role": "tool", "tool_call_id": "mock_call_1", "content": "3"}
    assert [tool.name for tool in second.tools] == ["temperature", FINISH_TOOL]
    finish = second.tools[-1]
    assert set(finish.parameters["properties"]["final_output"]["properties"]) == {"city", "celsius"}
    assert second.output_schema is None  # the finish tool carries the schema


def test_a_plain_text_reply_also_ends_the_loop() -> None:
    llm = Model("mockllm", outputs=[MockToolCall(temperature, {"city": "Cairo"}), "31"])

    @by(llm(tools=[temperature]))
    def degrees(city: str) -> int:
        """Degrees in a city."""

    assert degrees("Cairo") == 31


def test_tool_exceptions_unknown_tools_and_bad_arguments_go_back_as_text() -> None:
    llm = Model("mockllm", outputs=[
        [MockToolCall(fails, {"reason": "no network"}), MockToolCall("teleport", {}),
         MockToolCall(temperature, {"town": "Oslo"})],
        MockToolCall(FINISH_TOOL, {"final_output": "gave up"}),
    ])

    @by(llm(tools=[fails, temperature]))
    def plan(goal: str) -> str:
        """Plan."""

    assert plan("trip") == "gave up"
    results = [message["content"] for message in llm.provider.requests[1].messages if message["role"] == "tool"]
    assert results[0] == "Error: fails raised RuntimeError: cannot do it: no network"
    assert results[1] == "Error: there is no tool named 'teleport'; the tools are: fails, temperature, finish_tool."
    assert results[2].startswith("Error: invalid arguments for temperature: city: Field required")


def test_finish_output_is_validated_against_the_return_type() -> None:
    llm = Model("mockllm", outputs=[
        MockToolCall(FINISH_TOOL, {"final_output": {"city": "Oslo"}}),
        MockToolCall(FINISH_TOOL, {"final_output": {"city": "Oslo", "celsius": "4"}}),
    ])

    @by(llm(tools=[temperature]))
    def forecast(city: str) -> Forecast:
        """The forecast for a city."""

    assert forecast("Oslo") == Forecast("Oslo", 4)
    feedback = llm.provider.requests[1].messages[-1]
    assert feedback["role"] == "tool"
    assert "celsius: Field required" in feedback["content"]


def test_max_iterations_raises_a_clear_error() -> None:
    llm = Model("mockllm", outputs=[MockToolCall(temperature, {"city": "Oslo"})] * 3)

    @by(llm(tools=[temperature], max_iterations=3))
    def degrees(city: str) -> int:
        """Degrees."""

    with pytest.raises(MaxIterationsError, match="max_iterations=3"):
        degrees("Oslo")
    assert isinstance(llm.last_call.error, MaxIterationsError)


def test_methods_can_be_tools() -> None:
    calendar = Calendar()
    llm = Model("mockllm", outputs=[MockToolCall(calendar.book, {"slot": "Mon 9:00"}), "Booked Monday 9:00."])

    @by(llm(tools=[calendar.book]))
    def schedule(request: str) -> str:
        """Schedule a meeting."""

    assert schedule("Monday morning") == "Booked Monday 9:00."
    assert calendar.booked == ["Mon 9:00"]


def test_several_tool_calls_from_one_reply_run_concurrently() -> None:
    # Each tool waits until both are running; run one after the other they would time out.
    both_running = threading.Barrier(2, timeout=10)

    def left() -> str:
        """Left half."""
        both_running.wait()
        return "L"

    def right() -> str:
        """Right half."""
        both_running.wait()
        return "R"

    llm = Model("mockllm", outputs=[[MockToolCall(left), MockToolCall(right)], "LR"])

    @by(llm(tools=[left, right]))
    def join() -> str:
        """Join both halves."""

    assert join() == "LR"
    results = [message["content"] for message in llm.provider.requests[1].messages if message["role"] == "tool"]
    assert results == ["L", "R"]


def test_async_loop_awaits_async_tools_concurrently() -> None:
    async def lookup(key: str) -> str:
        """Look a key up."""
        await asyncio.wait_for(barrier.wait(), timeout=10)
        return key.upper()

    barrier: asyncio.Barrier

    llm = Model("mockllm", outputs=[[MockToolCall(lookup, {"key": "a"}), MockToolCall(lookup, {"key": "b"})],
                                    MockToolCall(FINISH_TOOL, {"final_output": ["A", "B"]})])

    @by(llm(tools=[lookup]))
    async def both(keys: list[str]) -> list[str]:
        """Look up every key."""

    async def main() -> list[str]:
        nonlocal barrier
        barrier = asyncio.Barrier(2)
        return await both(["a", "b"])

    assert asyncio.run(main()) == ["A", "B"]


def test_invalid_tool_configuration_is_reported() -> None:
    llm = Model("mockllm", outputs=["x"])

    @by(llm(tools=[temperature, temperature]))
    def twice(x: str) -> str:
        """Twice."""

    with pytest.raises(ConfigurationError, match="two tools are named 'temperature'"):
        twice("x")

    @by(llm(tools=["not a function"]))
    def bad(x: str) -> str:
        """Bad."""

    with pytest.raises(ConfigurationError, match="takes functions"):
        bad("x")

    @by(llm(tools=[temperature], max_iterations=0))
    def zero(x: str) -> str:
        """Zero."""

    with pytest.raises(ConfigurationError, match="max_iterations"):
        zero("x")


def test_final_text_that_never_fits_raises_output_conversion_error() -> None:
    llm = Model("mockllm", outputs=["not a number", "still not"], retries=1)

    @by(llm(tools=[temperature]))
    def degrees(city: str) -> int:
        """Degrees."""

    with pytest.raises(OutputConversionError):
        degrees("Oslo")


def test_tool_loop_over_http_sends_tools_and_tool_messages(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key="sk-tools-123456", json_mode=True)
    fake_server.script(
        openai_tool_calls(("temperature", {"city": "Oslo"}), ("temperature", {"city": "Cairo"})),
        openai_tool_calls((FINISH_TOOL, {"final_output": {"city": "Cairo", "celsius": 31}})),
    )

    @by(llm(tools=[temperature]))
    def warmest(cities: list[str]) -> Forecast:
        """The warmest of the cities."""

    assert warmest(["Oslo", "Cairo"]) == Forecast("Cairo", 31)
    first, second = (request.body for request in fake_server.requests)
    assert [tool["function"]["name"] for tool in first["tools"]] == ["temperature", FINISH_TOOL]
    assert "response_format" not in first  # forcing JSON would stop the model calling tools
    assistant = second["messages"][2]
    assert assistant["role"] == "assistant"
    calls = assistant["tool_calls"]
    assert [json.loads(call["function"]["arguments"]) for call in calls] == [{"city": "Oslo"}, {"city": "Cairo"}]
    tool_messages = [message for message in second["messages"] if message["role"] == "tool"]
    assert [(message["tool_call_id"], message["content"]) for message in tool_messages] == [
        (calls[0]["id"], "3"), (calls[1]["id"], "31")]
    usage = llm.last_call.usage
    assert (usage.input_tokens, usage.output_tokens) == (22, 14)


def test_async_tool_loop_over_http(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key="sk-tools-123456")
    fake_server.script(openai_tool_calls(("temperature", {"city": "Oslo"})), openai_text("3"))

    @by(llm(tools=[temperature]))
    async def degrees(city: str) -> int:
        """Degrees in a city."""

    assert asyncio.run(degrees("Oslo")) == 3
    assert fake_server.requests[1].body["messages"][-1]["content"] == "3"


def test_tool_arguments_that_are_not_json_go_back_as_text(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key="sk-tools-123456")
    broken_call = {"id": "call_x", "type": "function", "function": {"name": "temperature", "arguments": "{city: Oslo"}}
    fake_server.script(openai_text(None, tool_calls=[broken_call]), openai_text("3"))

    @by(llm(tools=[temperature]))
    def degrees(city: str) -> int:
        """Degrees in a city."""

    assert degrees("Oslo") == 3
    result = fake_server.requests[1].body["messages"][-1]
    assert result["role"] == "tool" and result["tool_call_id"] == "call_x"
    assert result["content"] == "Error: the arguments for temperature are not a JSON object: '{city: Oslo'. " \
                                "Call it again with a JSON object."
