"""byllm's own transport for OpenAI-compatible servers (HTTP/1.1 on httptools, sync and async): same requests as the SDK, shared pools, fallbacks."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Iterator

import pytest

import byllm
from byllm.lib import ConfigurationError, Image, Model, ProviderError, by
from byllm.providers.chat_completions import CHAT_COMPLETIONS
from byllm.providers.base import CompletionRequest, ToolSpec
from byllm.providers.clients import client_count
from byllm.providers.openai_provider import (
    OPENAI_SDK,
    OpenAICompatibleProvider,
    chosen_transport,
    forget_response_format_refusals,
)
from byllm.errors import ResponseFormatRejected
from byllm.providers.transport import RetryPolicy
from fake_server import (
    FakeLLMServer,
    RefusesResponseFormat,
    Scripted,
    error,
    openai_json,
    openai_stream,
    openai_text,
    openai_tool_calls,
)

KEY = "sk-own-0123456789abcdef"
# A 1x1 PNG, so the image part of a message is a real data URL.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==")


@dataclass
class Person:
    name: str
    age: int


class Mood(Enum):
    HAPPY = "happy"
    SAD = "sad"


@pytest.fixture(autouse=True)
def fresh_refusals() -> Iterator[None]:
    forget_response_format_refusals()
    yield
    forget_response_format_refusals()


def provider(server: FakeLLMServer, transport: object, **options: object) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(base_url=server.openai_url, api_key=KEY, transport=transport,  # type: ignore[arg-type]
                                    policy=RetryPolicy(max_retries=0), **options)  # type: ignore[arg-type]


def full_request(*, stream: bool = False) -> CompletionRequest:
    """A request using every part of the protocol byllm sends: schema, tools, an image, parameters, unicode."""
    image = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
    return CompletionRequest(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": [{"type": "text", "text": "héllo \u2028 <tag> & \"quotes\" 😀"},
                                               {"type": "image_url", "image_url": {"url": image}}]}],
        output_schema={"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                       "required": ["name", "age"]} if not stream else None,
        output_name="make person",
        tools=[ToolSpec("lookup", "Look a word up.", {"type": "object", "properties": {"word": {"type": "string"}}})],
        params={"temperature": 0.25, "max_tokens": 50, "seed": 7, "stop": ["\n\n"], "top_p": 0.9},
        stream=stream,
    )


@pytest.mark.parametrize("stream", [False, True], ids=["reply", "stream"])
def test_requests_are_byte_for_byte_what_the_openai_sdk_sends(fake_server: FakeLLMServer, stream: bool) -> None:
    answer = openai_stream(["ok"]) if stream else openai_json({"name": "A", "age": 1})
    fake_server.script(answer, answer, answer)
    extras = {"top_k": 5, "repetition_penalty": 1.1}

    async def send_async(sender: OpenAICompatibleProvider) -> str:
        if stream:
            return "".join([chunk.text async for chunk in sender.astream(full_request(stream=True))])
        return (await sender.acomplete(full_request())).text

    for transport in (OPENAI_SDK, CHAT_COMPLETIONS):
        sender = provider(fake_server, transport, extra_params=extras, headers={"X-Team": "search"})
        if stream:
            assert "".join(chunk.text for chunk in sender.stream(full_request(stream=True))) == "ok"
        else:
            assert sender.complete(full_request()).text
    assert asyncio.run(send_async(sender))  # the own transport's async sender
    sdk, own_sync, own_async = fake_server.requests
    assert own_sync.raw == own_async.raw == sdk.raw
    assert own_sync.path == own_async.path == sdk.path == "/v1/chat/completions"
    for header in ("authorization", "content-type", "x-team"):
        assert own_sync.headers[header] == own_async.headers[header] == sdk.headers[header]


def test_typed_calls_tools_and_parallel_tool_calls_run_on_the_own_transport(fake_server: FakeLLMServer) -> None:
    looked_up: list[str] = []

    def lookup(word: str) -> str:
        """Look a word up."""
        looked_up.append(word)
        return word.upper()

    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)
    assert llm.provider.transport is CHAT_COMPLETIONS

    @by(llm(tools=[lookup]))
    def make_person(hint: str) -> Person:
        """Make a person."""

    fake_server.script(openai_tool_calls(("lookup", {"word": "a"}), ("lookup", {"word": "b"})),
                       openai_tool_calls(("finish_tool", {"final_output": {"name": "Al", "age": 3}})))
    assert make_person("x") == Person("Al", 3)
    assert sorted(looked_up) == ["a", "b"]
    tool_results = [m for m in fake_server.requests[1].body["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_results] == ["A", "B"]


def test_images_travel_as_data_urls(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)

    @by(llm)
    def caption(photo: Image) -> str:
        """Caption the photo."""

    fake_server.script(openai_text("a dot"))
    assert caption(Image(PNG)) == "a dot"
    parts = fake_server.requests[0].body["messages"][-1]["content"]
    assert any(part.get("type") == "image_url" and part["image_url"]["url"].startswith("data:image/png;base64,")
               for part in parts)


def test_an_error_event_in_a_stream_is_a_typed_provider_error(fake_server: FakeLLMServer) -> None:
    events = openai_stream(["one"]).events or []
    failing = Scripted(events=[events[0], events[1], (None, '{"error": {"message": "the model overloaded"}}')])
    fake_server.script(failing)
    chunks = provider(fake_server, CHAT_COMPLETIONS).stream(full_request(stream=True))
    assert next(chunks).text == "one"
    with pytest.raises(ProviderError, match="the model overloaded"):
        list(chunks)


def test_sync_calls_from_many_threads_share_one_pool(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)
    fake_server.responder = lambda request: openai_text("ok")

    @by(llm)
    def echo(text: str) -> str:
        """Echo."""

    before = client_count()
    assert byllm.map(echo, [str(n) for n in range(40)], concurrency=8, progress=False) == ["ok"] * 40
    assert byllm.map(echo, [str(n) for n in range(40)], concurrency=8, progress=False) == ["ok"] * 40
    assert client_count() == before + 1
    connections = {request.peer for request in fake_server.requests}
    assert len(connections) <= 8  # kept open and reused across both batches and all threads


def test_async_calls_share_their_loops_pool(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)
    fake_server.responder = lambda request: openai_text("ok")

    @by(llm)
    async def echo(text: str) -> str:
        """Echo."""

    async def run() -> list[str]:
        return await byllm.amap(echo, [str(n) for n in range(30)], concurrency=6, progress=False)

    assert asyncio.run(run()) == ["ok"] * 30
    assert len({request.peer for request in fake_server.requests}) <= 6


def test_the_sdk_transport_is_chosen_with_byllm_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLLM_TRANSPORT", "sdk")
    assert chosen_transport() is OPENAI_SDK
    assert Model("gpt-4o-mini", api_key=KEY).provider.transport is OPENAI_SDK
    monkeypatch.setenv("BYLLM_TRANSPORT", "carrier-pigeon")
    with pytest.raises(ConfigurationError, match="BYLLM_TRANSPORT='carrier-pigeon'.*'byllm'.*'sdk'"):
        chosen_transport()
    for name in ("byllm", "aiohttp", " BYLLM "):  # aiohttp: the own transport's former name, still accepted
        monkeypatch.setenv("BYLLM_TRANSPORT", name)
        assert chosen_transport() is CHAT_COMPLETIONS
    monkeypatch.delenv("BYLLM_TRANSPORT")
    assert chosen_transport() is CHAT_COMPLETIONS


# -- JSON-schema mode refused ------------------------------------------------------------
def refusing_server(fake_server: FakeLLMServer, value: object) -> RefusesResponseFormat:
    refuser = RefusesResponseFormat(lambda request: openai_json(value))
    fake_server.responder = refuser
    return refuser


def test_a_server_refusing_response_format_is_asked_again_with_the_schema_in_the_prompt(
        fake_server: FakeLLMServer) -> None:
    refuser = refusing_server(fake_server, {"name": "Al", "age": 40})
    llm = Model("my-model", base_url=fake_server.openai_url, json_mode=True, max_retries=0)

    @by(llm)
    def make_person(hint: str) -> Person:
        """Make a person."""

    assert make_person("x") == Person("Al", 40)
    first, second = fake_server.requests
    assert "response_format" in first.body and "response_format" not in second.body
    assert '"age"' not in first.body["messages"][-1]["content"]  # the schema went as response_format only
    assert "age" in second.body["messages"][-1]["content"] and "name" in second.body["messages"][-1]["content"]
    assert isinstance(llm.last_call.attempts[0].error, ResponseFormatRejected)
    # Remembered for the server: the next call describes the schema in the prompt at once.
    assert make_person("y") == Person("Al", 40)
    assert len(fake_server.requests) == 3 and "response_format" not in fake_server.requests[2].body
    assert refuser.refused == 1


def test_the_refusal_is_remembered_per_base_url_and_for_async_calls(fake_server: FakeLLMServer) -> None:
    refusing_server(fake_server, "happy")  # asked without response_format, the model answers the bare value

    async def mood(text: str) -> Mood:
        """The mood of the text."""

    llm = Model("my-model", base_url=fake_server.openai_url, json_mode=True, max_retries=0)
    assert asyncio.run(by(llm)(mood)("yay")) == Mood.HAPPY
    assert ["response_format" in request.body for request in fake_server.requests] == [True, False]
    with FakeLLMServer(responder=lambda request: openai_json({"value": "sad"})) as other:
        other_llm = Model("my-model", base_url=other.openai_url, json_mode=True, max_retries=0)
        assert asyncio.run(by(other_llm)(mood)("meh")) == Mood.SAD
        assert "response_format" in other.requests[0].body  # another server still gets JSON-schema mode


@pytest.mark.parametrize("message", ["max_tokens is too large",
                                     "Invalid schema for response_format 'Person': 'required' is missing"])
def test_other_client_errors_are_not_taken_for_a_refusal(fake_server: FakeLLMServer, message: str) -> None:
    fake_server.script(error(400, message))
    llm = Model("my-model", base_url=fake_server.openai_url, json_mode=True, max_retries=3)

    @by(llm)
    def make_person(hint: str) -> Person:
        """Make a person."""

    with pytest.raises(ProviderError) as raised:
        make_person("x")
    assert message in str(raised.value)
    assert not isinstance(raised.value, ResponseFormatRejected)
    assert len(fake_server.requests) == 1
    assert llm.provider.wants_schema(CompletionRequest(model="m", messages=[]))  # the server is not marked


# -- start-up and shutdown ---------------------------------------------------------------
def run_python(code: str) -> subprocess.CompletedProcess[str]:
    tests = Path(__file__).parent
    return subprocess.run([sys.executable, "-W", "error::ResourceWarning", "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120, cwd=tests)


def test_a_synchronous_call_loads_no_hashing_library_and_no_idna_codec(fake_server: FakeLLMServer) -> None:
    # Both cost milliseconds of a one-call program's start-up: pools are keyed by the key's in-process hash,
    # and the resolver gets the host as ASCII bytes.
    fake_server.responder = lambda request: openai_text("ok")
    result = run_python(f"""
        import sys
        from byllm.lib import Model, by

        @by(Model("gpt-4o-mini", base_url={fake_server.openai_url!r}, api_key="sk-start-0123456789"))
        def echo(text: str) -> str:
            '''Echo.'''

        print(echo("x"), [name for name in ("hashlib", "_hashlib", "encodings.idna", "asyncio") if name in sys.modules])
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok", "[]"]


def test_asyncio_is_imported_on_the_first_async_call_and_the_pools_close_cleanly_at_exit() -> None:
    result = run_python("""
        import sys
        from fake_server import FakeLLMServer, openai_text
        from byllm.lib import Model, by

        def loaded():
            return [name in sys.modules for name in ("asyncio", "byllm.providers.http1_async", "aiohttp", "h11")]

        with FakeLLMServer(responder=lambda request: openai_text("ok")) as server:
            llm = Model("gpt-4o-mini", base_url=server.openai_url, api_key="sk-exit-0123456789")

            @by(llm)
            def echo(text: str) -> str:
                '''Echo.'''

            @by(llm)
            async def aecho(text: str) -> str:
                '''Echo.'''

            assert "byllm.providers.http1" not in sys.modules and "openai" not in sys.modules
            print(echo("x"), *loaded())
            import asyncio
            print(asyncio.run(aecho("x")), *loaded(), "openai" in sys.modules)
            print(echo("y"))  # the sync pool's idle connection is closed at exit, the loop's at its shutdown
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok", "False", "False", "False", "False",
                                     "ok", "True", "True", "False", "False", "False", "ok"]
    assert "unclosed" not in result.stderr.lower() and "Traceback" not in result.stderr


def test_a_stream_left_early_gives_its_connection_back(fake_server: FakeLLMServer) -> None:
    fake_server.script(openai_stream(["a", "b", "c"]), openai_text("next"),
                       openai_stream(["x", "y", "z"]), openai_text("after"))
    sender = provider(fake_server, CHAT_COMPLETIONS)
    chunks = sender.stream(full_request(stream=True))
    assert next(chunks).text == "a"
    chunks.close()  # the reader stopped: the stream's connection is closed
    assert sender.complete(CompletionRequest(model="m", messages=[{"role": "user", "content": "x"}])).text == "next"

    async def early() -> str:
        async for chunk in sender.astream(full_request(stream=True)):
            return chunk.text
        return ""

    async def later() -> str:
        reply = await sender.acomplete(CompletionRequest(model="m", messages=[{"role": "user", "content": "x"}]))
        return reply.text

    assert asyncio.run(early()) == "x"
    assert asyncio.run(later()) == "after"


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_connections() -> None:
    result = run_python("""
        import multiprocessing
        from fake_server import FakeLLMServer, openai_text
        from byllm.lib import Model, by

        def echo(text: str) -> str:
            '''Echo.'''

        def in_child(url: str) -> str:
            return by(Model("gpt-4o-mini", base_url=url, api_key="sk-fork-0123456789"))(echo)("child")

        if __name__ == "__main__":
            with FakeLLMServer(responder=lambda request: openai_text("ok")) as server:
                assert by(Model("gpt-4o-mini", base_url=server.openai_url, api_key="sk-fork-0123456789"))(echo)("x") == "ok"
                with multiprocessing.get_context("fork").Pool(1) as pool:
                    print(pool.apply(in_child, (server.openai_url,)))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok"]
