"""The plugin seam, in-process on a fresh plugin manager per test.

Every kind of ``by llm()`` call (plain, async, streamed, with tools) passes
``call_llm`` once, each of its completions (first, retries, tool turns) passes
``llm_complete`` / ``llm_acomplete``, and ``llm_call_finished`` fires once with
the finished record. Loading reports misspelled hooks and isolates broken
plugins; options are typed; ``excl_info``, late ``sem`` texts and the meaning
cache behave.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import textwrap
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import pytest

from byllm.call import CallRecord
from byllm.errors import ConfigurationError, OutputConversionError, ProviderError
from byllm.lib import Model, MockToolCall, by, sem
from byllm.plugin import ByllmMachine
from byllm.providers.base import CompletionReply, CompletionRequest, StreamChunk, Usage
from jaclang.runtimelib import entry_points, machine
from jaclang.runtimelib.entry_points import PluginEntryPoint
from jaclang.runtimelib.machine import JacPluginManager, hookimpl


class MeteredProvider:
    """A real (non-mock) provider for ``metered/...`` models: fixed replies and usage, or an error."""

    name = "metered"

    def __init__(self) -> None:
        self.replies: list[str] = []
        self.fail = False

    def model_id(self, model_name: str) -> str:
        return model_name.split("/", 1)[1]

    def _next(self) -> str:
        if self.fail:
            raise ProviderError("the metered service is down", provider="metered", status=503)
        return self.replies.pop(0)

    def complete(self, request: CompletionRequest) -> CompletionReply:
        return CompletionReply(text=self._next(), usage=Usage(10, 2), model=request.model)

    def stream(self, request: CompletionRequest) -> Iterator[StreamChunk]:
        words = self._next().split(" ")
        for index, word in enumerate(words):
            yield StreamChunk(word if index == 0 else " " + word, Usage(10, 3) if index == len(words) - 1 else None)


@pytest.fixture
def metered(jac_plugin_manager: JacPluginManager) -> MeteredProvider:
    provider = MeteredProvider()

    class Serves:
        @staticmethod
        @hookimpl
        def llm_provider(model_name: str, config: dict[str, Any]) -> Any:
            return provider if model_name.startswith("metered/") else None

    jac_plugin_manager.register(Serves, name="metered-provider")
    return provider


def population(town: str) -> int:
    """The population of the town."""
    return 1200


def every_kind(model: Model) -> dict[str, Callable[..., Any]]:
    """A function for each kind of call, bound to ``model``."""

    @by(model)
    def capital(country: str) -> str:
        """The capital city."""

    @by(model)
    async def acapital(country: str) -> str:
        """The capital city."""

    @by(model(stream=True))
    def story(topic: str) -> str:
        """A story."""

    @by(model(stream=True))
    async def astory(topic: str) -> str:
        """A story."""

    @by(model(tools=[population]))
    def census(town: str) -> int:
        """The population of the town."""

    @by(model)
    def count(text: str) -> int:
        """Count."""

    return {function.__name__: function for function in (capital, acapital, story, astory, census, count)}


async def read(chunks: AsyncIterator[str]) -> list[str]:
    return [chunk async for chunk in chunks]


def run_every_kind(named: dict[str, Callable[..., Any]]) -> list[Any]:
    return [
        named["capital"]("France"),
        asyncio.run(named["acapital"]("Spain")),
        list(named["story"]("cats")),
        asyncio.run(_read_async_stream(named["astory"])),
        named["census"]("Oslo"),
        named["count"]("abc"),
    ]


async def _read_async_stream(function: Callable[..., Any]) -> list[str]:
    return await read(await function("dogs"))


def outputs_for_every_kind() -> list[Any]:
    return [
        "Paris",
        "Madrid",
        "once upon a time",
        "the end",
        MockToolCall(population, {"town": "Oslo"}),
        MockToolCall("finish_tool", {"final_output": 1200}),
        "many",  # count: does not fit int, asked again
        "3",
    ]


EXPECTED = ["Paris", "Madrid", ["once", " upon", " a", " time"], ["the", " end"], 1200, 3]


# -- call_llm, as the spec writes plugins ------------------------------------------


def test_spec_style_call_llm_plugin_sees_every_kind_of_call(jac_plugin_manager: JacPluginManager) -> None:
    seen: list[tuple[str, str]] = []

    class MybyllmMachine:
        @staticmethod
        @hookimpl
        def call_llm(model: Model, caller: Callable, args: dict[str | int, object]) -> object:
            seen.append((caller.__name__, json.dumps(args)))
            return model.invoke(caller, args)

    jac_plugin_manager.register(MybyllmMachine)
    assert run_every_kind(every_kind(Model("mockllm", outputs=outputs_for_every_kind()))) == EXPECTED
    assert seen == [
        ("capital", '{"country": "France"}'),
        ("acapital", '{"country": "Spain"}'),
        ("story", '{"topic": "cats"}'),
        ("astory", '{"topic": "dogs"}'),
        ("census", '{"town": "Oslo"}'),
        ("count", '{"text": "abc"}'),
    ]


def test_llm_complete_plugin_sees_every_completion(jac_plugin_manager: JacPluginManager) -> None:
    seen: list[tuple[str, str, bool, int]] = []

    class Watcher:
        @staticmethod
        @hookimpl
        def llm_complete(model: Model, request: CompletionRequest) -> None:
            seen.append(("sync", request.output_name, request.stream, len(request.messages)))

        @staticmethod
        @hookimpl
        def llm_acomplete(model: Model, request: CompletionRequest) -> None:
            seen.append(("async", request.output_name, request.stream, len(request.messages)))

    jac_plugin_manager.register(Watcher)
    assert run_every_kind(every_kind(Model("mockllm", outputs=outputs_for_every_kind()))) == EXPECTED
    assert [entry[:3] for entry in seen] == [
        ("sync", "capital", False),
        ("async", "acapital", False),
        ("sync", "story", True),
        ("async", "astory", True),
        ("sync", "census", False),  # asks for the tool
        ("sync", "census", False),  # the tool turn: finishes
        ("sync", "count", False),
        ("sync", "count", False),  # the retry
    ]
    assert seen[5][3] > seen[4][3] and seen[7][3] == seen[6][3] + 2  # the turns carry the conversation


# -- llm_call_finished ------------------------------------------------------------------


@pytest.fixture
def finished(jac_plugin_manager: JacPluginManager) -> list[CallRecord]:
    records: list[CallRecord] = []

    class Observer:
        @staticmethod
        @hookimpl
        def llm_call_finished(record: CallRecord) -> None:
            records.append(record)

    jac_plugin_manager.register(Observer)
    return records


def test_call_finished_fires_once_per_call_with_the_whole_record(finished: list[CallRecord], metered) -> None:
    metered.replies = ["Paris", "Madrid", "once upon a time", "the end", "many", "3"]
    named = every_kind(Model("metered/m1"))
    named["capital"]("France")
    asyncio.run(named["acapital"]("Spain"))
    list(named["story"]("cats"))
    asyncio.run(_read_async_stream(named["astory"]))
    named["count"]("abc")
    assert [record.function.rsplit(".", 1)[-1] for record in finished] == ["capital", "acapital", "story", "astory", "count"]
    assert all(record.finished and record.error is None and record.model_name == "metered/m1" for record in finished)
    capital, acapital, story, astory, count = finished
    assert capital.value == "Paris" and capital.usage == Usage(10, 2) and len(capital.attempts) == 1
    assert acapital.is_async and acapital.value == "Madrid"
    assert story.streamed and story.value == "once upon a time"
    assert story.attempts[0].chunks == ["once", " upon", " a", " time"] and story.usage == Usage(10, 3)
    assert astory.streamed and astory.is_async and astory.attempts[0].chunks == ["the", " end"]
    assert count.value == 3 and count.replies == ["many", "3"] and count.retries == 1 and count.usage == Usage(20, 4)


def test_call_finished_records_tool_turns(finished: list[CallRecord]) -> None:
    named = every_kind(Model("mockllm", outputs=outputs_for_every_kind()[4:6]))
    assert named["census"]("Oslo") == 1200
    (record,) = finished
    assert [(turn.name, turn.arguments, turn.result) for turn in record.tool_turns] == [("population", {"town": "Oslo"}, "1200")]
    assert len(record.attempts) == 2 and record.value == 1200


def test_call_finished_records_a_conversion_failure_after_the_retries(finished: list[CallRecord]) -> None:
    named = every_kind(Model("mockllm", outputs=["many", "lots", "several"], retries=2))
    with pytest.raises(OutputConversionError) as raised:
        named["count"]("abc")
    (record,) = finished
    assert record.error is raised.value and record.value is None
    assert record.replies == ["many", "lots", "several"] and len(record.attempts) == 3


def test_call_finished_records_a_provider_error(finished: list[CallRecord], metered) -> None:
    metered.fail = True
    named = every_kind(Model("metered/m1"))
    with pytest.raises(ProviderError):
        named["capital"]("France")
    with pytest.raises(ProviderError):
        list(named["story"]("cats"))
    with pytest.raises(ProviderError):
        asyncio.run(named["acapital"]("Spain"))
    assert len(finished) == 3
    for record in finished:
        assert isinstance(record.error, ProviderError) and len(record.attempts) == 1
    assert isinstance(finished[0].attempts[0].error, ProviderError)
    assert isinstance(finished[2].attempts[0].error, ProviderError)


def test_a_stream_failing_while_read_records_the_error_on_its_attempt(finished: list[CallRecord], metered) -> None:
    metered.fail = True
    with pytest.raises(ProviderError):
        list(every_kind(Model("metered/m1"))["story"]("cats"))
    assert isinstance(finished[0].attempts[0].error, ProviderError)


def test_call_finished_records_an_abandoned_stream_once(finished: list[CallRecord], metered) -> None:
    metered.replies = ["once upon a time"]
    chunks = every_kind(Model("metered/m1"))["story"]("cats")
    assert next(chunks) == "once"
    chunks.close()
    del chunks
    gc.collect()
    (record,) = finished
    assert record.streamed and record.value == "once" and record.error is None


# -- loading plugins ------------------------------------------------------------------------


def fake_entry_points(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, plugins: dict[str, str]) -> None:
    """The ``jac`` group holds byllm's plugin and one plugin per ``name: source`` (a module each)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [PluginEntryPoint("byllm", "byllm.plugin:ByllmMachine", "jaclang", "0.1.0")]
    for name, source in plugins.items():
        module = f"seam_plugin_{name.replace('-', '_')}"
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        points.append(PluginEntryPoint(name, f"{module}:Plugin", "jaclang", "0.1.0"))
    real = entry_points.group_entry_points
    monkeypatch.setattr(
        entry_points, "group_entry_points", lambda group: points if group == machine.PLUGIN_GROUP else real(group)
    )
    monkeypatch.delenv("JAC_DISABLED_PLUGINS", raising=False)


def test_a_misspelled_hook_is_reported_with_the_plugin_and_the_right_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_entry_points(
        monkeypatch,
        tmp_path,
        {
            "typo": """
                from jaclang.runtimelib.machine import hookimpl

                class Plugin:
                    @staticmethod
                    @hookimpl
                    def call_lm(model, caller, args):
                        return "never"
            """
        },
    )
    manager = machine.load_plugins(machine.new_plugin_manager())
    message = "plugin 'typo' implements an unknown hook 'call_lm'; did you mean 'call_llm'?"
    assert manager.warnings == [message]
    assert f"warning: {message}" in capsys.readouterr().err
    machine.load_plugins(manager)  # idempotent: loaded once, warned once
    assert manager.warnings == [message] and capsys.readouterr().err == ""


def test_a_plugin_with_a_wrong_hook_signature_is_isolated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_entry_points(
        monkeypatch,
        tmp_path,
        {
            "wrong-signature": """
                from jaclang.runtimelib.machine import hookimpl

                class Plugin:
                    @staticmethod
                    @hookimpl
                    def call_llm(model, caller, args, temperature):
                        return "never"
            """,
            "good": """
                from jaclang.runtimelib.machine import hookimpl

                class Plugin:
                    @staticmethod
                    @hookimpl
                    def call_llm(model, caller, args):
                        return "from the good plugin"
            """,
        },
    )
    manager = machine.load_plugins(machine.new_plugin_manager())
    assert set(manager.failed_plugins) == {"wrong-signature"}
    assert "temperature" in manager.failed_plugins["wrong-signature"]
    assert manager.has_plugin("good") and manager.has_plugin("byllm") and not manager.has_plugin("wrong-signature")
    assert "warning: jac plugin 'wrong-signature' from jaclang failed to load" in capsys.readouterr().err
    monkeypatch.setattr(machine, "plugin_manager", manager)
    assert every_kind(Model("mockllm", outputs=["unused"]))["capital"]("France") == "from the good plugin"


def test_pluggy_distribution_bookkeeping_after_loading(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_entry_points(monkeypatch, tmp_path, {})
    manager = machine.load_plugins(machine.new_plugin_manager())
    distinfo = manager.list_plugin_distinfo()
    assert distinfo, "list_plugin_distinfo() is empty after loading"
    assert [(plugin, dist.name) for plugin, dist in distinfo] == [(ByllmMachine, "jaclang")]
    assert distinfo[0][1].metadata["name"] == "jaclang"


# -- typed options -------------------------------------------------------------------------


def test_misspelled_options_raise_a_configuration_error_with_a_did_you_mean() -> None:
    with pytest.raises(ConfigurationError, match="unknown parameter 'retires' for Model.*did you mean 'retries'"):
        Model("mockllm", retires=3)
    with pytest.raises(ConfigurationError, match="unknown parameter 'max_token' for by llm.*did you mean 'max_tokens'"):
        Model("mockllm")(max_token=5)


def test_a_misspelled_option_in_jac_by_llm_is_reported(tmp_path: Path) -> None:
    import subprocess

    source = tmp_path / "typo.jac"
    source.write_text(
        "import from byllm.lib { Model }\n"
        'glob llm = Model(model_name="mockllm", outputs=["x"]);\n'
        "def f(a: str) -> str by llm(max_token=5);\n"
        'with entry { print(f("a")); }\n'
    )
    result = subprocess.run([sys.executable, "-m", "jaclang.cli", "run", str(source)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "did you mean 'max_tokens'" in result.stderr


def test_extra_params_and_upstream_config_reach_the_request(jac_plugin_manager: JacPluginManager) -> None:
    llm = Model(model_name="mockllm", config={"temperature": 0.3, "outputs": ["a", "b"]})
    named = every_kind(llm)
    named["capital"]("x")
    assert llm.provider.requests[0].params["temperature"] == 0.3
    by_call = by(llm(extra_params={"logit_bias": {"42": 5}}, max_tokens=7))

    @by_call
    def town(country: str) -> str:
        """A town."""

    town("y")
    params = llm.provider.requests[1].params
    assert params["logit_bias"] == {"42": 5} and params["max_tokens"] == 7 and params["temperature"] == 0.3


# -- what reaches the prompt ------------------------------------------------------------------


ACCOUNT_LLM = Model("mockllm", outputs=["ok"] * 10)


@dataclass
class Account:
    owner: str
    token: str

    @by(ACCOUNT_LLM(excl_info=["token"]))
    def summary(self, note: str) -> str:
        """Summarise the account."""


def test_excl_info_keeps_excluded_values_out_of_the_prompt(jac_plugin_manager: JacPluginManager) -> None:
    llm = Model("mockllm", outputs=["ok"])

    @by(llm(excl_info=["password", "internal"], incl_info={"internal": "INTERNAL-NOTE", "shown": "VISIBLE-NOTE"}))
    def login(user: str, password: str) -> str:
        """Log the user in."""

    login("ada", "hunter2-SECRET")
    sent = json.dumps(llm.last_messages)
    assert "hunter2-SECRET" not in sent and "INTERNAL-NOTE" not in sent
    assert "ada" in sent and "VISIBLE-NOTE" in sent

    account = Account("grace", "tok-SECRET-123")
    account.summary("monthly")
    sent = json.dumps(ACCOUNT_LLM.last_messages)
    assert "tok-SECRET-123" not in sent and "grace" in sent and "monthly" in sent


def test_sem_set_after_the_first_call_takes_effect(jac_plugin_manager: JacPluginManager) -> None:
    llm = Model("mockllm", outputs=["a", "b"])

    @by(llm)
    def label(item: str) -> str:
        """Old meaning."""

    label("x")
    assert "Old meaning." in json.dumps(llm.last_messages)
    sem("New meaning of the label.", item="the thing to label")(label)
    label("x")
    sent = json.dumps(llm.last_messages)
    assert "New meaning of the label." in sent and "the thing to label" in sent and "Old meaning." not in sent


def module_containers() -> dict[tuple[str, str], int]:
    """The size of every dict, list, set and lru_cache at module level in byllm and jaclang."""
    sizes: dict[tuple[str, str], int] = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith(("byllm", "jaclang")) or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if isinstance(value, (dict, list, set)):
                sizes[(name, attribute)] = len(value)
            elif hasattr(value, "cache_info"):
                sizes[(name, attribute)] = value.cache_info().currsize
    return sizes


def call_many_closures(count: int) -> list[weakref.ref[Any]]:
    """Decorate and call ``count`` closures; return weak references to them."""
    llm = Model("mockllm", outputs=["x"] * count)

    def make() -> Callable[[str], str]:
        @by(llm)
        def closure(text: str) -> str:
            """A closure."""

        return closure

    alive = []
    for _ in range(count):
        function = make()
        function("t")
        alive.append(weakref.ref(function))
    del function
    llm.history.clear()
    gc.collect()
    return alive


def test_decorated_closures_are_not_kept_alive(jac_plugin_manager: JacPluginManager) -> None:
    alive = call_many_closures(5000)
    assert sum(reference() is not None for reference in alive) == 0


def test_decorating_many_closures_grows_no_module_level_cache(jac_plugin_manager: JacPluginManager) -> None:
    for module_name, module in list(sys.modules.items()):  # start every bounded cache empty, so growth shows
        if module_name.startswith(("byllm", "jaclang")) and module is not None:
            for value in list(vars(module).values()):
                if hasattr(value, "cache_clear") and hasattr(value, "cache_info"):
                    value.cache_clear()
    call_many_closures(1)  # warm: every module imported, every per-type cache filled once
    before = module_containers()
    call_many_closures(5000)
    after = module_containers()
    grown = {key: (before.get(key, 0), size) for key, size in after.items() if size - before.get(key, 0) > 50}
    assert grown == {}, f"module-level containers grew with the closures: {grown}"


def test_streaming_with_tools_is_a_configuration_error(jac_plugin_manager: JacPluginManager) -> None:
    from byllm.errors import ConfigurationError
    from byllm.lib import by

    def lookup(word: str) -> str:
        """Look a word up."""
        return word

    @by(Model("mockllm", outputs=["x"])(stream=True, tools=[lookup]))
    def define(word: str) -> str: ...

    with pytest.raises(ConfigurationError, match="stream=True cannot be combined with tools"):
        define("cat")


def test_streaming_a_typed_function_is_a_configuration_error(jac_plugin_manager: JacPluginManager) -> None:
    from byllm.errors import ConfigurationError
    from byllm.lib import by

    @by(Model("mockllm", outputs=["1"])(stream=True))
    def count(word: str) -> int: ...

    with pytest.raises(ConfigurationError, match="stream=True needs a function returning str"):
        count("cat")


# -- what invoke returns for async def functions -----------------------------------------


def test_a_caching_call_llm_plugin_returns_an_async_call_again(jac_plugin_manager: JacPluginManager) -> None:
    # The spec's caching plugin keeps what model.invoke returned and hands it out again.
    kept: dict[str, Any] = {}

    class CachingMachine:
        @staticmethod
        @hookimpl
        def call_llm(model: Model, caller: Callable, args: dict[str | int, object]) -> object:
            key = json.dumps(args)
            if key not in kept:
                kept[key] = model.invoke(caller, args)
            return kept[key]

    jac_plugin_manager.register(CachingMachine)
    model = Model("mockllm", outputs=["Madrid"])  # one output: a second model call would fail

    @by(model)
    async def capital(country: str) -> str:
        """The capital city."""

    async def twice() -> list[str]:
        return [await capital("Spain"), await capital("Spain")]

    assert asyncio.run(twice()) == ["Madrid", "Madrid"]
    assert asyncio.run(capital("Spain")) == "Madrid"  # kept across event loops too
    assert len(model.history) == 1


def test_an_async_call_awaited_by_several_tasks_runs_once(jac_plugin_manager: JacPluginManager, metered) -> None:
    metered.replies = ["Madrid"]
    model = Model("metered/m")

    @by(model)
    async def capital(country: str) -> str:
        """The capital city."""

    async def together() -> list[Any]:
        pending = model.invoke(capital.__wrapped__, {"country": "Spain"})
        finished: list[Any] = []
        pending.add_done_callback(lambda done: finished.append(done.result()))
        assert not pending.done()
        values = await asyncio.gather(pending, pending, asyncio.ensure_future(pending))
        return [*values, finished, pending.done(), pending.exception(), await pending]

    assert asyncio.run(together()) == ["Madrid", "Madrid", "Madrid", ["Madrid"], True, None, "Madrid"]
    assert len(model.history) == 1


def test_an_async_call_that_failed_raises_its_error_each_time_it_is_awaited(metered) -> None:
    metered.fail = True
    model = Model("metered/m", max_retries=0)

    @by(model)
    async def capital(country: str) -> str:
        """The capital city."""

    async def twice() -> list[str]:
        pending = model.invoke(capital.__wrapped__, {"country": "Spain"})
        messages = []
        for _ in range(2):
            with pytest.raises(ProviderError) as raised:
                await pending
            messages.append(str(raised.value))
        assert isinstance(pending.exception(), ProviderError)
        return messages

    first, second = asyncio.run(twice())
    assert first == second and "down" in first
    assert len(model.history) == 1


def test_an_async_call_runs_when_awaited_and_a_cancelled_await_cancels_it(metered) -> None:
    metered.replies = ["Madrid"]
    model = Model("metered/m")

    @by(model)
    async def capital(country: str) -> str:
        """The capital city."""

    pending = model.invoke(capital.__wrapped__, {"country": "Spain"})
    assert not pending.done() and model.last_call is None  # nothing sent before it is awaited
    with pytest.raises(RuntimeError, match="await it first"):
        pending.result()
    asyncio.run(asyncio.sleep(0))
    assert model.last_call is None

    async def cancelled() -> None:
        started = asyncio.Event()

        async def slow_send(*args: Any) -> CompletionReply:
            started.set()
            await asyncio.sleep(10)
            raise AssertionError("not reached")

        metered.acomplete = slow_send
        task = asyncio.ensure_future(pending)
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(asyncio.CancelledError):
            await pending  # the same outcome for everyone

    asyncio.run(cancelled())
    assert pending.done() and model.last_call is not None and model.last_call.error is not None
