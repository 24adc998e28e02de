"""The provider base: a transport is a swappable part, conversions are all a provider writes, clients are shared."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from typing import Any, AsyncIterator, Iterator

import pytest

from byllm.errors import ConfigurationError, EmptyReplyError, ProviderError
from byllm.providers.base import CompletionReply, CompletionRequest, StreamChunk, Usage
from byllm.providers.clients import client_count
from byllm.providers.openai_provider import OpenAICompatibleProvider
from byllm.providers.provider import RemoteProvider, wire_field
from byllm.providers.registry import builtin_provider, resolve_provider
from byllm.providers.transport import Connection, RetryPolicy, TransientError, retry_after_seconds
from fake_server import FakeLLMServer, error, openai_stream, openai_text

KEY = "sk-base-0123456789"
REQUEST = CompletionRequest(model="fake-model", messages=[{"role": "user", "content": "hi"}])


class UrllibTransport:
    """An own transport for the OpenAI-compatible protocol, standard library only: responses are plain dicts."""

    def send(self, body: dict[str, Any], connection: Connection) -> Any:
        request = urllib.request.Request(
            f"{connection.base_url}/chat/completions", data=json.dumps(body).encode(), method="POST",
            headers={"content-type": "application/json", "authorization": f"Bearer {connection.api_key}",
                     **connection.headers})
        try:
            response = urllib.request.urlopen(request, timeout=connection.timeout)
        except urllib.error.HTTPError as failure:
            problem = ProviderError(f"own-http error (HTTP {failure.code})", provider="own-http", status=failure.code)
            if failure.code >= 500 or failure.code == 429:
                raise TransientError(problem, retry_after_seconds(dict(failure.headers))) from None
            raise problem from None
        if body.get("stream"):
            return self._events(response)
        with response:
            return json.loads(response.read())

    @staticmethod
    def _events(response: Any) -> Iterator[dict[str, Any]]:
        with response:
            for line in response:
                data = line.decode().strip().removeprefix("data:").strip()
                if data and data != "[DONE]":
                    yield json.loads(data)

    async def asend(self, body: dict[str, Any], connection: Connection) -> Any:
        answer = await asyncio.to_thread(self.send, body, connection)
        return _aiterate(answer) if body.get("stream") else answer


async def _aiterate(events: Iterator[Any]) -> AsyncIterator[Any]:
    for event in events:
        yield event


def own_transport_provider(fake_server: FakeLLMServer, **settings: Any) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(name="own-http", base_url=fake_server.openai_url, api_key=KEY,
                                    transport=UrllibTransport(), policy=RetryPolicy(backoff=0.001), **settings)


def test_the_openai_compatible_provider_runs_on_another_transport(fake_server: FakeLLMServer) -> None:
    provider = own_transport_provider(fake_server, headers={"X-Team": "search"})
    fake_server.script(error(503, retry_after="0"), openai_text("over urllib", usage=(3, 2)))
    reply = provider.complete(REQUEST)
    assert (reply.text, reply.usage) == ("over urllib", Usage(3, 2))
    assert len(fake_server.requests) == 2  # the base retried the transport's TransientError
    assert fake_server.requests[1].headers["x-team"] == "search"
    fake_server.script(openai_stream(["a", "b"], usage=(4, 2)))
    assert list(provider.stream(REQUEST)) == [StreamChunk("a"), StreamChunk("b"), StreamChunk("", Usage(4, 2))]


def test_another_transport_serves_async_calls_and_streams(fake_server: FakeLLMServer) -> None:
    provider = own_transport_provider(fake_server)

    async def both() -> tuple[str, list[str]]:
        reply = await provider.acomplete(REQUEST)
        return reply.text, [chunk.text async for chunk in provider.astream(REQUEST)]

    fake_server.script(openai_text("async"), openai_stream(["x"]))
    assert asyncio.run(both()) == ("async", ["x", ""])


def test_a_transports_own_errors_are_typed(fake_server: FakeLLMServer) -> None:
    fake_server.script(error(400, "nope"))
    with pytest.raises(ProviderError, match="HTTP 400") as raised:
        own_transport_provider(fake_server).complete(REQUEST)
    assert raised.value.status == 400


class ScriptedTransport:
    """A transport answering from a list (no network): the smallest thing that fits the protocol."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.bodies: list[dict[str, Any]] = []

    def send(self, body: dict[str, Any], connection: Connection) -> Any:
        self.bodies.append(body)
        return self.answers.pop(0)

    async def asend(self, body: dict[str, Any], connection: Connection) -> Any:
        return self.send(body, connection)


class ShoutProvider(RemoteProvider):
    """A whole provider: a name, a key variable and three conversions."""

    name = "shout"
    prefix = "shout/"
    api_key_env = "SHOUT_API_KEY"

    def wire_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        return {"say": request.messages[-1]["content"], "stream": stream, **request.params}

    def reply_from_wire(self, response: Any, request: CompletionRequest) -> CompletionReply:
        if not wire_field(response, "said"):
            raise EmptyReplyError("shout: the provider returned no content", provider=self.name)
        return CompletionReply(text=wire_field(response, "said"), usage=Usage(1, 1))

    def stream_delta(self, event: Any, usage: Usage) -> str:
        usage.output_tokens += 1
        return str(event)


def test_a_provider_written_on_the_base_gets_keys_retries_and_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOUT_API_KEY", "shout-key-0123456789")
    transport = ScriptedTransport({"said": ""}, {"said": "HI"}, ["H", "I"])
    provider = ShoutProvider(transport=transport, policy=RetryPolicy(backoff=0.001))
    assert provider.model_id("shout/loud") == "loud"
    assert provider.complete(REQUEST).text == "HI"  # the empty answer was retried
    assert provider.connection().api_key == "shout-key-0123456789"
    assert list(provider.stream(REQUEST)) == [StreamChunk("H"), StreamChunk("I"), StreamChunk("", Usage(0, 2))]
    assert transport.bodies[-1] == {"say": "hi", "stream": True}
    monkeypatch.delenv("SHOUT_API_KEY")
    with pytest.raises(ConfigurationError, match="SHOUT_API_KEY"):
        provider.complete(REQUEST)


def test_one_sdk_client_per_base_url_and_key_is_shared_by_threads(fake_server: FakeLLMServer) -> None:
    fake_server.responder = lambda request: openai_text("ok")
    before = client_count()
    providers = [builtin_provider("gpt-4o-mini", {"base_url": fake_server.openai_url, "api_key": KEY})
                 for _ in range(4)]
    start = threading.Barrier(8)

    def call(index: int) -> None:
        start.wait(timeout=10)
        providers[index % 4].complete(REQUEST)

    threads = [threading.Thread(target=call, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert client_count() == before + 1


# -- choosing a provider: only the llm_provider hook -------------------------------------------
def test_resolve_provider_asks_the_hook_of_the_current_plugin_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    import pluggy

    from byllm.hookspecs import ByllmSpec
    from byllm.plugin import ByllmMachine
    from jaclang.runtimelib import machine

    manager = pluggy.PluginManager("jac")
    manager.add_hookspecs(ByllmSpec)
    manager.register(ByllmMachine, name="byllm")
    monkeypatch.setattr(machine, "plugin_manager", manager)
    assert isinstance(resolve_provider("gpt-4o-mini", {"api_key": KEY}), OpenAICompatibleProvider)
    with pytest.raises(ConfigurationError, match="no provider serves the model 'mystery'"):
        resolve_provider("mystery", {})


def test_a_blocked_byllm_plugin_is_a_clear_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import pluggy

    from jaclang.runtimelib import machine

    monkeypatch.setattr(machine, "plugin_manager", pluggy.PluginManager("jac"))
    with pytest.raises(ConfigurationError, match="JAC_DISABLED_PLUGINS"):
        resolve_provider("gpt-4o-mini", {})


def test_settings_may_be_an_object_with_attributes() -> None:
    class Settings:
        base_url = "http://gpu-box:8000/v1"
        api_key = KEY
        timeout = 12
        max_retries = 1
        extra_params = {"top_k": 3}

    provider = builtin_provider("my-model", Settings())
    assert (provider.base_url, provider.policy.timeout, provider.policy.max_retries) == ("http://gpu-box:8000/v1", 12, 1)
    assert provider.extra_params == {"top_k": 3}


def test_the_provider_writing_example_in_the_docs_runs(fake_server: FakeLLMServer) -> None:
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "providers.md").read_text()
    section = guide.split("#### Writing a provider on the base", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/providers.md", "exec"), namespace)
    assert repr(namespace["provider"]) == "HouseProvider(name='house', base_url='https://llm.house/v1', headers={'X-Team': 'search'})"
    house = namespace["HouseProvider"](base_url=fake_server.openai_url, api_key=KEY)
    fake_server.script(openai_text("from the house"), openai_stream(["a", "b"]))
    assert house.complete(REQUEST).text == "from the house"
    assert [chunk.text for chunk in house.stream(REQUEST)] == ["a", "b"]
    assert house.model_id("house/big") == "big"
