"""The pytest plugin: byllm_mock, the network guard, and cassette record/replay (run with pytester)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from plugin_support import free_port

pytest_plugins = ["pytester"]

# A real provider for the inner test runs: POSTs each request to LLM_SERVER_URL.
INNER_CONFTEST = '''
import json
import os
import urllib.request

from jaclang.runtimelib.machine import hookimpl, plugin_manager
from byllm.providers.base import CompletionReply, StreamChunk, Usage


class HttpProvider:
    name = "loopback-http"

    def model_id(self, model_name):
        return model_name.split("/", 1)[1]

    def complete(self, request):
        body = json.dumps({"model": request.model, "messages": request.messages}).encode()
        http_request = urllib.request.Request(
            os.environ["LLM_SERVER_URL"], data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(http_request, timeout=10) as response:
            answer = json.loads(response.read())
        return CompletionReply(text=answer["text"], usage=Usage(*answer["usage"]), model=request.model)

    def stream(self, request):
        reply = self.complete(request)
        words = reply.text.split(" ")
        for index, word in enumerate(words):
            yield StreamChunk(word if index == 0 else " " + word, reply.usage if index == len(words) - 1 else None)


class HttpProviderPlugin:
    @staticmethod
    @hookimpl
    def llm_provider(model_name, config):
        return HttpProvider() if model_name.startswith("http/") else None


def pytest_configure(config):
    plugin_manager.register(HttpProviderPlugin, name="http-provider")
'''

INNER_TESTS = '''
import asyncio

import pytest
from byllm.lib import Model, by

llm = Model("http/weather-1")


@by(llm)
def forecast(city: str) -> str:
    """Tomorrow's weather in the city."""


@by(llm)
async def aforecast(city: str) -> str:
    """Tomorrow's weather in the city."""


@by(llm(stream=True))
def forecast_stream(city: str) -> str:
    """Tomorrow's weather in the city."""


@by(llm(stream=True))
async def aforecast_stream(city: str) -> str:
    """Tomorrow's weather in the city."""


async def read(chunks):
    return [chunk async for chunk in await chunks]


@pytest.mark.byllm_cassette
def test_forecast():
    assert forecast("Paris") == "SUNNY IN PARIS"
    assert forecast("Oslo") == "SUNNY IN OSLO"
    assert asyncio.run(aforecast("Lima")) == "SUNNY IN LIMA"


@pytest.mark.byllm_cassette
def test_streamed_forecast():
    assert list(forecast_stream("Rome")) == ["SUNNY", " IN", " ROME"]
    assert asyncio.run(read(aforecast_stream("Bern"))) == ["SUNNY", " IN", " BERN"]


def test_calls_the_provider_directly():
    assert forecast("Rome") == "SUNNY IN ROME"
'''


class LoopbackModelServer:
    """A tiny model endpoint on 127.0.0.1: answers 'SUNNY IN <city>' and counts requests."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(payload)
                prompt = payload["messages"][-1]["content"]
                city = re.search(r'city[^=\n]*= "([^"]*)"', prompt).group(1)
                body = json.dumps({"text": f"SUNNY IN {city.upper()}", "usage": [12, 4]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1/complete"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def model_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackModelServer]:
    server = LoopbackModelServer()
    monkeypatch.setenv("LLM_SERVER_URL", server.url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_weather=INNER_TESTS)
    return pytester


def test_record_once_then_replay_offline(inner: pytest.Pytester, model_server: LoopbackModelServer, monkeypatch) -> None:
    recorded = inner.runpytest_subprocess("--byllm-record", "-k", "test_forecast")
    recorded.assert_outcomes(passed=1)
    assert len(model_server.requests) == 3
    cassette = inner.path / "cassettes" / "test_weather" / "test_forecast.json"
    document = json.loads(cassette.read_text())
    assert document["format"] == 2
    interactions = document["interactions"]
    assert sorted(item["replies"][0]["text"] for item in interactions) == ["SUNNY IN LIMA", "SUNNY IN OSLO", "SUNNY IN PARIS"]
    assert {item["request"]["model"] for item in interactions} == {"http/weather-1"}

    # Replay with the server gone: nothing may reach the network.
    model_server.stop()
    monkeypatch.setenv("LLM_SERVER_URL", f"http://127.0.0.1:{free_port()}/closed")
    replayed = inner.runpytest_subprocess("-k", "test_forecast", "--byllm-block-network")
    replayed.assert_outcomes(passed=1)
    assert len(model_server.requests) == 3


def test_streams_are_recorded_as_chunks_and_replayed_offline(inner: pytest.Pytester, model_server, monkeypatch) -> None:
    recorded = inner.runpytest_subprocess("--byllm-record", "-k", "test_streamed_forecast")
    recorded.assert_outcomes(passed=1)
    assert len(model_server.requests) == 2
    cassette = inner.path / "cassettes" / "test_weather" / "test_streamed_forecast.json"
    interactions = json.loads(cassette.read_text())["interactions"]
    assert sorted(item["replies"][0]["chunks"] for item in interactions) == [
        ["SUNNY", " IN", " BERN"], ["SUNNY", " IN", " ROME"],
    ]  # fmt: skip
    assert all(item["request"]["stream"] for item in interactions)

    model_server.stop()
    monkeypatch.setenv("LLM_SERVER_URL", f"http://127.0.0.1:{free_port()}/closed")
    replayed = inner.runpytest_subprocess("-k", "test_streamed_forecast", "--byllm-block-network")
    replayed.assert_outcomes(passed=1)
    assert len(model_server.requests) == 2


def test_missing_cassette_entry_fails_with_how_to_record(inner: pytest.Pytester, model_server) -> None:
    result = inner.runpytest_subprocess("-k", "test_forecast")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*has no reply for a request to 'http/weather-1'*run pytest with --byllm-record*"])
    assert model_server.requests == []


def test_block_network_option_fails_real_provider_calls(inner: pytest.Pytester, model_server) -> None:
    result = inner.runpytest_subprocess("-k", "test_calls_the_provider_directly", "--byllm-block-network")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*forecast sent a completion to the real model 'http/weather-1' while byllm's network guard is on*"])
    assert model_server.requests == []
    allowed = inner.runpytest_subprocess("-k", "test_calls_the_provider_directly")
    allowed.assert_outcomes(passed=1)
    assert len(model_server.requests) == 1


def test_block_network_ini_option_and_marker(pytester: pytest.Pytester, model_server) -> None:
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(
        test_marked='''
import pytest
from byllm.lib import Model, by

@by(Model("http/weather-1"))
def forecast(city: str) -> str:
    """Tomorrow's weather in the city."""

@pytest.mark.no_llm_network
def test_marked():
    forecast("Paris")

def test_mock_is_allowed():
    @by(Model("mockllm", outputs=["fine"]))
    def mood(day: str) -> str:
        """The mood."""
    assert mood("Monday") == "fine"
'''
    )
    marked = pytester.runpytest_subprocess()
    marked.assert_outcomes(passed=1, failed=1)
    marked.stdout.fnmatch_lines(["*test_marked: forecast sent a completion to the real model 'http/weather-1'*"])
    pytester.makeini("[pytest]\nbyllm_block_network = true\n")
    pytester.makepyfile(
        test_ini='''
from byllm.lib import Model, by

@by(Model("http/weather-1"))
def forecast(city: str) -> str:
    """Tomorrow's weather in the city."""

def test_unmarked():
    forecast("Paris")
'''
    )
    by_ini = pytester.runpytest_subprocess("test_ini.py")
    by_ini.assert_outcomes(failed=1)
    assert model_server.requests == []


def test_byllm_mock_scripts_every_model_in_a_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_scripted='''
from dataclasses import dataclass
from byllm.lib import Model, by

@dataclass
class City:
    name: str
    population: int

@by(Model("gpt-4o"))
def capital(country: str) -> str:
    """The capital city."""

@by(Model("anthropic/claude-3-5-haiku-latest"))
def describe(name: str) -> City:
    """Facts about the city."""

def test_scripted(byllm_mock):
    script = byllm_mock("Paris", City("Paris", 2_100_000))
    assert capital("France") == "Paris"
    assert describe("Paris") == City("Paris", 2_100_000)
    assert script.remaining == 0
    assert '"France"' in script.requests[0].messages[-1]["content"]
    assert Model().model_name == "mockllm"

def test_script_can_be_replaced(byllm_mock):
    byllm_mock("first")
    byllm_mock("second")
    assert capital("Spain") == "second"
'''
    )
    result = pytester.runpytest_subprocess("--byllm-block-network")
    result.assert_outcomes(passed=2)


def test_scripted_replies_never_enter_the_cache(byllm_mock, tmp_path: Path, monkeypatch, provider) -> None:
    from byllm.lib import Model, by
    from byllm.plugins.cache import open_backend
    from byllm.settings import reload_settings

    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/c.db")
    reload_settings()  # settings are read once; a changed variable needs a reload

    @by(Model("test/m"))
    def shout(word: str) -> str:
        """Shout the word."""

    script = byllm_mock("first", "second")
    assert [shout("a"), shout("a")] == ["first", "second"]
    assert provider.calls == 0 and script.remaining == 0
    assert open_backend(f"sqlite:///{tmp_path}/c.db").stats().entries == 0


OFFLINE_TESTS = '''
import asyncio

import pytest
from byllm.lib import Model, by


def lookup(city: str) -> str:
    """Look the city up."""
    return "found"


@pytest.fixture
def openai_model():
    import os
    return Model("gpt-4o-mini", base_url=os.environ["LLM_SERVER_URL"].rsplit("/", 1)[0], api_key="sk-real-secret")


@by(Model("http/weather-1", stream=True))
def forecast_stream(city: str) -> str:
    """Tomorrow's weather in the city."""


@by(Model("http/weather-1", stream=True))
async def aforecast_stream(city: str) -> str:
    """Tomorrow's weather in the city."""


@by(Model("http/weather-1", tools=[lookup]))
def tool_forecast(city: str) -> str:
    """Tomorrow's weather in the city."""


@pytest.mark.no_llm_network
def test_stream():
    list(forecast_stream("Paris"))


@pytest.mark.no_llm_network
def test_astream():
    async def read():
        return [chunk async for chunk in await aforecast_stream("Paris")]
    asyncio.run(read())


@pytest.mark.no_llm_network
def test_tool_turn():
    tool_forecast("Paris")


@pytest.mark.no_llm_network
def test_openai_stream(openai_model):
    @by(openai_model(stream=True))
    def forecast(city: str) -> str:
        """Tomorrow's weather in the city."""
    list(forecast("Paris"))
'''


def test_network_guard_stops_streamed_async_and_tool_calls(pytester: pytest.Pytester, model_server) -> None:
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_offline=OFFLINE_TESTS)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "*test_stream: forecast_stream sent a streamed completion to the real model 'http/weather-1'*",
            "*test_astream: aforecast_stream sent a streamed completion to the real model 'http/weather-1'*",
            "*test_tool_turn: tool_forecast sent a completion to the real model 'http/weather-1'*",
            "*test_openai_stream: forecast sent a streamed completion to the real model 'gpt-4o-mini'*",
        ],
        consecutive=False,
    )
    assert model_server.requests == []  # nothing, not even the key, left the process


def test_byllm_mock_answers_streamed_async_tool_and_retried_calls(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mocked='''
import asyncio
from byllm.lib import Model, MockToolCall, by
from byllm.testing import TestModel

llm = Model("gpt-4o")


def lookup(city: str) -> int:
    """The population."""
    return 2


@by(llm(stream=True))
def story(topic: str) -> str:
    """A story."""


@by(llm(stream=True))
async def astory(topic: str) -> str:
    """A story."""


@by(llm(tools=[lookup]))
def census(city: str) -> int:
    """The population."""


@by(llm)
def count(text: str) -> int:
    """Count."""


async def read(chunks):
    return [chunk async for chunk in await chunks]


def test_streams(byllm_mock):
    script = byllm_mock("once upon a time", "the end")
    assert list(story("cats")) == ["once", " upon", " a", " time"]
    assert asyncio.run(read(astory("dogs"))) == ["the", " end"]
    assert [request.stream for request in script.requests] == [True, True]
    assert llm.history[-2].attempts[0].chunks == ["once", " upon", " a", " time"]


def test_tool_turns_and_retries(byllm_mock):
    script = byllm_mock(MockToolCall(lookup, {"city": "Oslo"}), MockToolCall("finish_tool", {"final_output": 2}), "many", "3")
    assert census("Oslo") == 2
    assert count("abc") == 3
    assert len(script.requests) == 4 and script.remaining == 0


def test_test_model_and_per_function_scripts(byllm_mock):
    byllm_mock(TestModel(text="generated"))
    assert "".join(story("x")) == "generated"
    byllm_mock(count=7, story=["a b"])
    assert count("x") == 7 and list(story("y")) == ["a", " b"]
'''
    )
    result = pytester.runpytest_subprocess("--byllm-block-network")
    result.assert_outcomes(passed=3)


def test_fresh_plugin_manager_fixture_isolates_registrations(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_managers='''
from jaclang.runtimelib import machine
from jaclang.runtimelib.machine import hookimpl
from byllm.lib import Model, by

GLOBAL = machine.plugin_manager


class Shout:
    @staticmethod
    @hookimpl
    def call_llm(model, caller, args):
        return model.invoke(caller, args).upper()


@by(Model("mockllm", outputs=["hi", "hi"]))
def greet(name: str) -> str:
    """Greet."""


def test_registers(jac_plugin_manager):
    assert machine.plugin_manager is jac_plugin_manager is not GLOBAL
    assert jac_plugin_manager.get_plugin("byllm") is not None
    jac_plugin_manager.register(Shout)
    assert greet("Ada") == "HI"


def test_is_gone_afterwards():
    assert machine.plugin_manager is GLOBAL and not GLOBAL.is_registered(Shout)
    assert greet("Ada") == "hi"
'''
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)
