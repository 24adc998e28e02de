"""byllm.testing: test models, override(), the network guard and cassettes, in-process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, AsyncIterator, Iterator, Literal, Optional

import pydantic
import pytest

from byllm.errors import MockExhaustedError, OutputConversionError
from byllm.lib import Model, MockToolCall, by
from byllm.providers.base import CompletionReply, CompletionRequest, StreamChunk, Usage
from byllm.testing import (
    Cassette,
    CassetteMissError,
    FunctionModel,
    NetworkBlockedError,
    Script,
    TestModel,
    block_network,
    generate_value,
    is_test_reply,
    override,
)
from jaclang.runtimelib.machine import JacPluginManager, hookimpl


class Color(Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class City:
    name: str
    population: int


@dataclass
class Report:
    city: City
    tags: list[str]
    colour: Color
    mayor: Optional[str]
    size: Literal["small", "large"]
    scores: dict[str, float]
    point: tuple[int, int]


class Bounded(pydantic.BaseModel):
    code: Annotated[str, pydantic.Field(min_length=3, max_length=5)]
    count: Annotated[int, pydantic.Field(ge=10, le=12)]
    ratio: Annotated[float, pydantic.Field(gt=0, lt=1)]


# A real (non-mock) provider for ``real/...`` models: counts what reaches it.
class RealProvider:
    name = "real"

    def __init__(self) -> None:
        self.requests: list[CompletionRequest] = []
        self.lock = threading.Lock()

    def model_id(self, model_name: str) -> str:
        return model_name.split("/", 1)[1]

    def _answer(self, request: CompletionRequest) -> str:
        with self.lock:
            self.requests.append(request)
            count = len(self.requests)
        if request.output_name == "census":
            return "not a number" if count == 1 else "1200"
        return f"real answer {count}"

    def complete(self, request: CompletionRequest) -> CompletionReply:
        if request.tools and not any(message["role"] == "tool" for message in request.messages):
            from byllm.providers.base import ToolCall

            with self.lock:
                self.requests.append(request)
            return CompletionReply(tool_calls=[ToolCall("c1", "lookup", {"name": "Oslo"})], usage=Usage(5, 1))
        if request.tools:
            from byllm.providers.base import ToolCall

            with self.lock:
                self.requests.append(request)
            return CompletionReply(tool_calls=[ToolCall("c2", "finish_tool", {"final_output": 7})], usage=Usage(5, 1))
        return CompletionReply(text=self._answer(request), usage=Usage(10, 2), model=request.model)

    async def acomplete(self, request: CompletionRequest) -> CompletionReply:
        return self.complete(request)

    def stream(self, request: CompletionRequest) -> Iterator[StreamChunk]:
        text = self._answer(request)
        words = text.split(" ")
        for index, word in enumerate(words):
            yield StreamChunk(word if index == 0 else " " + word, Usage(10, 3) if index == len(words) - 1 else None)

    async def astream(self, request: CompletionRequest) -> AsyncIterator[StreamChunk]:
        for chunk in self.stream(request):
            yield chunk


@pytest.fixture
def real_provider(jac_plugin_manager: JacPluginManager) -> RealProvider:
    provider = RealProvider()

    class Serves:
        @staticmethod
        @hookimpl
        def llm_provider(model_name: str, config: dict[str, Any]) -> Any:
            return provider if model_name.startswith("real/") else None

    jac_plugin_manager.register(Serves, name="real-provider")
    return provider


def lookup(name: str) -> int:
    """The population of a town."""
    return 1200


def functions(model: Model) -> dict[str, Any]:
    """One function of each kind of call, bound to ``model``."""

    @by(model)
    def capital(country: str) -> str:
        """The capital city of the country."""

    @by(model)
    async def acapital(country: str) -> str:
        """The capital city of the country."""

    @by(model(stream=True))
    def story(topic: str) -> str:
        """A short story."""

    @by(model(stream=True))
    async def astory(topic: str) -> str:
        """A short story."""

    @by(model(tools=[lookup]))
    def census(town: str) -> int:
        """The population of the town."""

    @by(model)
    def describe(name: str) -> City:
        """Facts about the city."""

    return {f.__name__: f for f in (capital, acapital, story, astory, census, describe)}


async def read_stream(chunks: AsyncIterator[str]) -> list[str]:
    return [chunk async for chunk in chunks]


async def astream_call(function: Any, *args: Any) -> list[str]:
    return await read_stream(await function(*args))


# -- values from schemas ---------------------------------------------------------------


def test_test_model_generates_a_valid_value_of_any_return_type(jac_plugin_manager) -> None:
    llm = Model("gpt-4o")

    @by(llm)
    def report(city: str) -> Report:
        """Report on the city."""

    @by(llm)
    def bounded(text: str) -> Bounded:
        """Bounded values."""

    with override(TestModel()):
        first = report("Oslo")
        again = report("Oslo")
        limits = bounded("x")
    assert isinstance(first, Report) and isinstance(first.city, City)
    assert first == again  # deterministic
    assert first.colour in Color and first.size in ("small", "large") and first.mayor is not None
    assert len(first.point) == 2 and first.tags and first.scores
    assert 3 <= len(limits.code) <= 5 and 10 <= limits.count <= 12 and 0 < limits.ratio < 1


def test_generated_values_are_exact_and_shift_with_the_seed() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 18},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "when": {"type": "string", "format": "date"},
            "kind": {"$ref": "#/$defs/Kind"},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "$defs": {"Kind": {"enum": ["x", "y", "z"]}},
    }
    assert generate_value(schema) == {
        "name": "a", "age": 19, "tags": ["c", "d"], "when": "2024-01-05", "kind": "z", "note": "g",
    }  # fmt: skip
    assert generate_value(schema, seed=1)["name"] == "b"
    assert generate_value({"type": "boolean"}) is True
    assert generate_value({"type": "string", "const": "only"}) == "only"


def test_test_model_text_and_value_options(jac_plugin_manager) -> None:
    named = functions(Model("gpt-4o"))
    with override(TestModel(text="Oslo")):
        assert named["capital"]("Norway") == "Oslo"
        assert "".join(named["story"]("fjords")) == "Oslo"
    with override(TestModel(value=City("Rome", 3))):
        assert named["describe"]("Rome") == City("Rome", 3)
    with override(TestModel()):
        assert named["capital"]("Norway") == "test reply to capital"


def test_test_model_calls_every_tool_then_finishes(jac_plugin_manager) -> None:
    called: list[str] = []

    def weather(city: str, days: int) -> str:
        """The weather."""
        called.append(f"weather {city} {days}")
        return "sunny"

    def rivers(country: str) -> list[str]:
        """Rivers of the country."""
        called.append(f"rivers {country}")
        return ["Glomma"]

    llm = Model("gpt-4o")

    @by(llm(tools=[weather, rivers]))
    def plan(trip: str) -> City:
        """Plan the trip."""

    with override(TestModel()) as answered:
        assert isinstance(plan("Norway"), City)
    assert called == ["weather a 1", "rivers a"]  # values count up across the arguments
    assert len(answered.requests) == 2  # one tool turn, one finish
    assert [tool.name for tool in answered.requests[0].tools] == ["weather", "rivers", "finish_tool"]
    assert llm.last_call.tool_turns[0].result == "sunny"

    called.clear()
    with override(TestModel(call_tools=["rivers"])):
        plan("Norway")
    with override(TestModel(call_tools=[])):
        plan("Norway")
    assert called == ["rivers a"]


# -- function models and scripts ----------------------------------------------------------


def test_function_model_sees_messages_schema_and_tools(jac_plugin_manager) -> None:
    named = functions(Model("gpt-4o"))
    seen: list[CompletionRequest] = []

    def answer(request: CompletionRequest) -> Any:
        seen.append(request)
        if request.output_name == "describe":
            return {"name": "Lima", "population": request.messages[-1]["content"].count("Lima")}
        if request.output_name == "census":
            tools = [tool.name for tool in request.tools]
            if request.messages[-1]["role"] == "tool":
                return MockToolCall("finish_tool", {"final_output": int(request.messages[-1]["content"])})
            assert tools == ["lookup", "finish_tool"]
            return MockToolCall(lookup, {"name": "Oslo"})
        if request.stream:
            return ["Li", "ma"]
        return "Lima"

    with override(answer):
        assert named["describe"]("Lima") == City("Lima", 1)
        assert named["census"]("Oslo") == 1200
        assert list(named["story"]("Peru")) == ["Li", "ma"]
        assert named["capital"]("Peru") == "Lima"
    assert seen[0].output_schema["properties"]["population"]["type"] == "integer"
    assert seen[-1].output_schema is None and not seen[-1].stream


def test_async_function_model_answers_async_calls(jac_plugin_manager) -> None:
    named = functions(Model("gpt-4o"))

    async def answer(request: CompletionRequest) -> str:
        await asyncio.sleep(0)
        return f"async {request.output_name}"

    with override(FunctionModel(answer)):
        assert asyncio.run(named["acapital"]("Peru")) == "async acapital"
        assert asyncio.run(astream_call(named["astory"], "Peru")) == ["async", " astory"]
        assert named["capital"]("Peru") == "async capital"  # a sync call runs it to completion


def test_script_answers_in_order_and_per_function(jac_plugin_manager) -> None:
    named = functions(Model("gpt-4o"))
    with override("Paris", "Rome", describe=[City("Oslo", 1), City("Lima", 2)], capital_of="unused") as script:
        assert named["describe"]("a") == City("Oslo", 1)
        assert named["capital"]("France") == "Paris"
        assert named["describe"]("b") == City("Lima", 2)
        assert script.remaining == 1
        script.add("Madrid")
        assert [named["capital"]("Italy"), named["capital"]("Spain")] == ["Rome", "Madrid"]
        with pytest.raises(MockExhaustedError, match="no output left for capital: it was given 3 output"):
            named["capital"]("Peru")
        with pytest.raises(MockExhaustedError, match="no output left for describe"):
            named["describe"]("c")
    assert [request.output_name for request in script.requests[:3]] == ["describe", "capital", "describe"]


def test_a_single_keyword_output_answers_every_call_of_that_function(jac_plugin_manager) -> None:
    named = functions(Model("gpt-4o"))
    with override(capital="Paris", census=MockToolCall("finish_tool", {"final_output": 5})):
        assert [named["capital"]("a"), named["capital"]("b")] == ["Paris", "Paris"]
        assert named["census"]("Oslo") == 5
        with pytest.raises(MockExhaustedError, match="no test reply for describe"):
            named["describe"]("x")


# -- override() covers every kind of completion --------------------------------------------


def test_override_answers_every_kind_of_call_and_never_reaches_the_provider(real_provider) -> None:
    named = functions(Model("real/m1"))
    with override(TestModel(text="fine")) as answered:
        assert named["capital"]("x") == "fine"
        assert asyncio.run(named["acapital"]("x")) == "fine"
        assert list(named["story"]("x")) == ["fine"]
        assert asyncio.run(astream_call(named["astory"], "x")) == ["fine"]
        assert isinstance(named["census"]("x"), int)
    assert real_provider.requests == []
    assert [(request.output_name, request.stream) for request in answered.requests] == [
        ("capital", False), ("acapital", False), ("story", True), ("astory", True), ("census", False), ("census", False),
    ]  # fmt: skip
    # Gone after the block: the provider answers again.
    assert named["capital"]("x") == "real answer 1"


def test_override_answers_retries(jac_plugin_manager) -> None:
    llm = Model("gpt-4o")

    @by(llm)
    def count(text: str) -> int:
        """Count."""

    with override("many", "three", "3") as script:
        assert count("abc") == 3
    assert len(script.requests) == 3
    assert "many" in json.dumps(script.requests[1].messages)
    assert llm.last_call.retries == 2
    with override("x", "y", "z"), pytest.raises(OutputConversionError):
        count("abc")


def test_test_replies_are_marked_so_caches_and_cassettes_skip_them(jac_plugin_manager) -> None:
    llm = Model("gpt-4o")
    replies: list[CompletionReply] = []

    class Spy:
        @hookimpl(wrapper=True)
        def llm_complete(self, model: Model, request: CompletionRequest) -> Iterator[None]:
            reply = yield
            replies.append(reply)
            return reply

    jac_plugin_manager.register(Spy())
    with override("hi"):
        functions(llm)["capital"]("x")
    assert is_test_reply(replies[0]) and replies[0].model == "mockllm"


def test_overrides_nest_and_an_inner_script_falls_back_to_the_outer_model(jac_plugin_manager) -> None:
    named = functions(Model("gpt-4o"))
    with override(TestModel(text="outer")) as outer:
        with override(capital="inner"):
            assert named["capital"]("x") == "inner"
            assert named["story"] is not None and "".join(named["story"]("x")) == "outer"
        assert named["capital"]("x") == "outer"
    assert len(outer.requests) == 2
    assert not jac_plugin_manager.has_plugin("byllm-testing-override")


def test_override_is_task_safe(jac_plugin_manager) -> None:
    named = functions(Model("gpt-4o"))

    async def in_task(text: str, entered: asyncio.Event, other: asyncio.Event) -> list[str]:
        with override(TestModel(text=text)):
            entered.set()
            await other.wait()  # both overrides are active now
            return [await named["acapital"]("x") for _ in range(3)]

    async def main() -> list[list[str]]:
        first, second = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(in_task("one", first, second), in_task("two", second, first))

    assert asyncio.run(main()) == [["one"] * 3, ["two"] * 3]


def test_override_is_thread_safe_and_answers_worker_threads(jac_plugin_manager) -> None:
    named = functions(Model("gpt-4o"))
    results: dict[str, list[str]] = {}
    barrier = threading.Barrier(4)

    def own_override(name: str) -> None:
        with override(TestModel(text=name)):
            barrier.wait(timeout=10)
            results[name] = [named["capital"]("x") for _ in range(20)]
            barrier.wait(timeout=10)

    threads = [threading.Thread(target=own_override, args=(f"t{index}",)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {f"t{index}": [f"t{index}"] * 20 for index in range(4)}

    # A worker thread started inside an override (no context of its own) is answered by it.
    with override("from the main thread") as script:
        worker_results: list[str] = []
        worker = threading.Thread(target=lambda: worker_results.append(named["capital"]("x")))
        worker.start()
        worker.join(timeout=10)
    assert worker_results == ["from the main thread"] and len(script.requests) == 1


def test_override_works_in_a_plain_script(tmp_path: Path) -> None:
    program = tmp_path / "script.py"
    program.write_text(
        "from byllm.lib import Model, by\n"
        "from byllm.testing import TestModel, override\n"
        "@by(Model('gpt-4o'))\n"
        "def capital(country: str) -> str: ...\n"
        "with override(TestModel(text='Paris')):\n"
        "    print(capital('France'))\n"
    )
    result = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Paris\n"


def test_override_works_in_a_jac_test_block(tmp_path: Path) -> None:
    source = tmp_path / "capitals.jac"
    source.write_text(
        "import from byllm.lib { Model }\n"
        "import from byllm.testing { llm_override, TestModel }\n"
        'glob llm = Model(model_name="gpt-4o");\n'
        '"""The capital city of the country."""\n'
        "def capital(country: str) -> str by llm();\n"
        'test "capital is answered offline" {\n'
        '    with llm_override("Paris") as script {\n'
        '        assert capital("France") == "Paris";\n'
        "    }\n"
        "    assert len(script.requests) == 1;\n"
        "}\n"
        'test "a test model answers from the return type" {\n'
        "    with llm_override(TestModel(text=\"Rome\")) {\n"
        '        assert capital("Italy") == "Rome";\n'
        "    }\n"
        "}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "jaclang.cli", "test", str(source)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


# -- the network guard --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["capital", "acapital", "story", "astory", "census"])
def test_network_guard_blocks_every_kind_of_real_completion(real_provider, kind: str) -> None:
    named = functions(Model("real/m1"))
    blocked: list[str] = []
    with block_network(on_blocked=blocked.append), pytest.raises(NetworkBlockedError, match="real model 'real/m1'"):
        if kind == "acapital":
            asyncio.run(named[kind]("x"))
        elif kind == "story":
            list(named[kind]("x"))
        elif kind == "astory":
            asyncio.run(astream_call(named[kind], "x"))
        else:
            named[kind]("x")
    assert real_provider.requests == []
    assert len(blocked) == 1 and blocked[0].startswith(kind)
    assert ("streamed completion" in blocked[0]) == kind.endswith("story")


def test_network_guard_lets_the_mock_and_overrides_through(real_provider) -> None:
    with block_network():
        assert functions(Model("mockllm", outputs=["mocked"]))["capital"]("x") == "mocked"
        with override("scripted"):
            assert functions(Model("real/m1"))["capital"]("x") == "scripted"
    assert real_provider.requests == []


def test_network_guard_blocks_a_retry_after_a_scripted_first_reply(real_provider) -> None:
    @by(Model("real/m1"))
    def count(text: str) -> int:
        """Count."""

    def first_only(request: CompletionRequest) -> str | None:
        return "not a number" if len(request.messages) == 2 else None

    with block_network(), override(first_only), pytest.raises(MockExhaustedError, match="no test reply"):
        count("abc")  # the override declines the retry: it fails rather than reaching the provider
    with block_network(), pytest.raises(NetworkBlockedError):
        count("abc")
    assert real_provider.requests == []


# -- cassettes ----------------------------------------------------------------------------


def run_every_kind(named: dict[str, Any]) -> list[Any]:
    return [
        named["capital"]("France"),
        asyncio.run(named["acapital"]("Spain")),
        list(named["story"]("cats")),
        asyncio.run(astream_call(named["astory"], "dogs")),
        named["census"]("Oslo"),
    ]


def test_cassette_records_then_replays_every_kind_of_completion_offline(real_provider, tmp_path: Path) -> None:
    path = tmp_path / "cassette.json"
    named = functions(Model("real/m1"))
    with Cassette(path, record="new"):
        recorded = run_every_kind(named)
    assert recorded == ["real answer 1", "real answer 2", ["real", " answer", " 3"], ["real", " answer", " 4"], 7]
    reached = len(real_provider.requests)
    assert reached == 6  # census took two completions (a tool turn)
    document = json.loads(path.read_text())
    assert document["format"] == 2
    streams = [item for item in document["interactions"] if item["request"]["stream"]]
    assert sorted(item["replies"][0]["chunks"] for item in streams) == [["real", " answer", " 3"], ["real", " answer", " 4"]]
    assert "real" not in json.dumps([item["request"]["params"] for item in document["interactions"]]).replace('"real/', "")

    llm = Model("real/m1")
    with Cassette(path), block_network():
        assert run_every_kind(functions(llm)) == recorded
    assert len(real_provider.requests) == reached
    assert llm.history[2].attempts[0].chunks == ["real", " answer", " 3"]
    assert llm.history[2].attempts[0].cached


def test_cassette_records_and_replays_retries(real_provider, tmp_path: Path) -> None:
    @by(Model("real/m1"))
    def census(town: str) -> int:
        """The population of the town."""

    path = tmp_path / "retries.json"
    with Cassette(path, record="new"):
        assert census("Oslo") == 1200  # the first reply did not fit; the retry did
    assert len(real_provider.requests) == 2
    with Cassette(path), block_network():
        assert census("Oslo") == 1200
    assert len(real_provider.requests) == 2
    assert len(json.loads(path.read_text())["interactions"]) == 2


def test_cassette_without_a_recording_fails_with_how_to_record(real_provider, tmp_path: Path) -> None:
    named = functions(Model("real/m1"))
    missing: list[str] = []
    with Cassette(tmp_path / "empty.json", on_missing=missing.append) as cassette:
        with pytest.raises(CassetteMissError, match="no reply for a streamed request to 'real/m1' from story"):
            list(named["story"]("cats"))
    assert real_provider.requests == [] and not cassette.path.exists()
    assert "--byllm-record" in missing[0]


def test_an_abandoned_stream_is_not_recorded(real_provider, tmp_path: Path) -> None:
    named = functions(Model("real/m1"))
    with Cassette(tmp_path / "c.json", record="new") as cassette:
        chunks = named["story"]("cats")
        assert next(iter(chunks)) == "real"
        chunks.close()
    assert cassette.interactions == {}
