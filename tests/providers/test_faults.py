"""Transport faults over real HTTP: every fault form is typed and retried; none loses a call within the budget."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from typing import Any, Callable

import pytest

import byllm
from byllm.errors import EmptyReplyError, MalformedReplyError
from byllm.lib import Model, ProviderError, RateLimitError, by
from byllm.providers.base import CompletionRequest
from byllm.providers.registry import builtin_provider
from fake_server import (
    FakeLLMServer,
    FaultInjector,
    RecordedRequest,
    Scripted,
    anthropic_text,
    error,
    openai_json,
    openai_text,
    transient_faults,
    truncated,
)

KEY = "sk-faults-0123456789abcdef"
REQUEST = CompletionRequest(model="fake-model", messages=[{"role": "user", "content": "hi"}])
needs_litellm = pytest.mark.skipif(importlib.util.find_spec("litellm") is None, reason="LiteLLM is an optional extra")


LITELLM_FAULTS = {"429-none", "500-nan", "503-http-date"}
SLOW = 2.0  # seconds an injected slow reply takes: past every timeout used here


def provider_for(kind: str, fake_server: FakeLLMServer, **config: Any) -> Any:
    # Timeouts generous enough for a loaded machine; the injected slow replies take longer still.
    settings = {"api_key": KEY, "retry_backoff": 0.001, "timeout": 1.0, **config}
    if kind == "anthropic":
        return builtin_provider("anthropic/claude-3-5-haiku-latest", {"base_url": fake_server.url, **settings})
    if kind == "litellm":
        return builtin_provider("litellm/openai/fake-model", {"base_url": fake_server.openai_url, **settings})
    return builtin_provider("gpt-4o-mini", {"base_url": fake_server.openai_url, **settings})


def good_reply(kind: str) -> Scripted:
    return anthropic_text("recovered") if kind == "anthropic" else openai_text("recovered")


@pytest.mark.parametrize("kind", ["openai", "anthropic", pytest.param("litellm", marks=needs_litellm)])
def test_every_fault_form_is_retried_then_the_call_succeeds(kind: str, fake_server: FakeLLMServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    provider = provider_for(kind, fake_server, max_retries=1)
    request = CompletionRequest(model=provider.model_id("openai/fake-model"), messages=REQUEST.messages)
    faults = transient_faults(good_reply(kind), slow_seconds=SLOW)
    if kind == "litellm":  # LiteLLM is slow per call: one Retry-After form per status is enough there
        faults = {name: fault for name, fault in faults.items() if name in LITELLM_FAULTS or not name[:3].isdigit()}
    for name, fault in faults.items():
        fake_server.script(fault, good_reply(kind))
        assert provider.complete(request).text == "recovered", name
        assert fake_server.pending == 0, name

    async def each_fault_async() -> None:  # one event loop: its async client is built once
        for name, fault in faults.items():
            fake_server.script(fault, good_reply(kind))
            assert (await provider.acomplete(request)).text == "recovered", name
            assert fake_server.pending == 0, name

    asyncio.run(each_fault_async())


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_every_fault_form_is_a_typed_error_when_retries_run_out(kind: str, fake_server: FakeLLMServer) -> None:
    provider = provider_for(kind, fake_server, max_retries=0)
    for name, fault in transient_faults(good_reply(kind), slow_seconds=SLOW).items():
        fake_server.script(fault)
        with pytest.raises(ProviderError, match=r"gave up after 1 attempt\b") as raised:
            provider.complete(REQUEST)
        assert raised.value.attempts == 1, name
        assert raised.value.__context__ is None, name  # no raw JSONDecodeError (and its body) behind it


def test_errors_after_the_last_retry_say_how_many_attempts_were_made(fake_server: FakeLLMServer) -> None:
    provider = provider_for("openai", fake_server, max_retries=2)
    fake_server.script(*[error(503, "still busy") for _ in range(3)])
    with pytest.raises(ProviderError, match=r"still busy \(gave up after 3 attempts; max_retries=2\)") as raised:
        provider.complete(REQUEST)
    assert (raised.value.status, raised.value.attempts) == (503, 3)


def test_a_truncated_200_is_a_malformed_reply_without_the_body(fake_server: FakeLLMServer) -> None:
    secret_body = openai_json({"note": "internal detail " * 20, "key": KEY})
    fake_server.script(truncated(secret_body), truncated(secret_body))
    with pytest.raises(MalformedReplyError, match="not valid JSON") as raised:
        provider_for("openai", fake_server, max_retries=1).complete(REQUEST)
    assert "internal detail" not in str(raised.value) and KEY not in str(raised.value)
    assert raised.value.attempts == 2


def test_empty_choices_and_null_content_never_become_an_empty_string(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY, max_retries=1, retry_backoff=0.001)

    @by(llm)
    def echo(text: str) -> str:
        """Echo the text."""

    fake_server.script(transient_faults(openai_text("x"))["empty-choices"], openai_text(None))
    with pytest.raises(EmptyReplyError, match="returned no content"):
        echo("x")
    fake_server.script(openai_text(None), openai_text("back"))
    assert echo("x") == "back"


def test_a_null_content_with_tool_calls_is_a_reply() -> None:
    provider = builtin_provider("gpt-4o-mini", {"api_key": KEY})
    response = {"model": "m", "choices": [{"message": {"content": None, "tool_calls": [
        {"id": "c1", "function": {"name": "search", "arguments": '{"q": "x"}'}}]}}]}
    reply = provider.reply_from_wire(response, REQUEST)
    assert reply.text == "" and reply.tool_calls[0].arguments == {"q": "x"}


@pytest.mark.parametrize("value", ["86400", "inf", "1e400", "99999999999999999999"])
def test_a_retry_after_beyond_the_cap_fails_at_once_and_says_so(value: str, fake_server: FakeLLMServer) -> None:
    fake_server.script(error(429, "come back later", retry_after=value))
    with pytest.raises(RateLimitError, match="asked to wait .* longer than byllm waits"):
        provider_for("openai", fake_server, max_retries=5).complete(REQUEST)
    assert len(fake_server.requests) == 1


def test_deeply_nested_tool_arguments_do_not_crash_the_call(fake_server: FakeLLMServer) -> None:
    nested = "[" * 5000 + "]" * 5000
    fake_server.script(Scripted(body={"model": "m", "choices": [{"message": {"content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "search", "arguments": nested}}]}}]}))
    reply = provider_for("openai", fake_server).complete(REQUEST)
    assert reply.tool_calls[0].arguments == {"__unparsed_arguments__": nested}


def test_a_body_nested_too_deeply_for_the_sdk_is_retried(fake_server: FakeLLMServer) -> None:
    nested = "[" * 5000 + "]" * 5000
    raw = ('{"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-fake", "stop_reason": "tool_use", '
           '"usage": {"input_tokens": 1, "output_tokens": 1}, "content": [{"type": "tool_use", "id": "t1", '
           f'"name": "search", "input": {{"q": {nested}}}}}]}}').encode()
    fake_server.script(Scripted(raw=raw), anthropic_text("recovered"))
    reply = provider_for("anthropic", fake_server).complete(REQUEST)
    if sys.version_info < (3, 13):  # the SDK's JSON reader hits the recursion limit: a malformed reply, retried
        assert reply.text == "recovered"
    else:  # Python 3.13's reader takes the depth: the tool call arrives, its deep argument intact
        assert reply.tool_calls[0].name == "search" and reply.tool_calls[0].arguments["q"] is not None


# -- the seeded fault run ------------------------------------------------------------------
CALLS = {"sync": 300, "async": 400, "map": 400}
MAX_RETRIES = 4


def shout(request: RecordedRequest) -> Scripted:
    """The good answer: the word in the prompt, upper-cased."""
    return openai_text(word_of(request).upper())


def word_of(request: RecordedRequest) -> str:
    return request.body["messages"][-1]["content"].split('= "')[1].split('"')[0]


def run_with_faults(fake_server: FakeLLMServer) -> tuple[dict[str, list[Any]], FaultInjector]:
    injector = FaultInjector(shout, call_id=word_of, rate=0.2, seed=20241130, max_faults_per_call=MAX_RETRIES,
                             slow_seconds=SLOW)
    fake_server.responder = injector
    fake_server.record = False
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY, max_retries=MAX_RETRIES,
                retry_backoff=0.001, timeout=1.0)

    @by(llm)
    def echo(word: str) -> str:
        """Repeat the word in capitals."""

    @by(llm)
    async def aecho(word: str) -> str:
        """Repeat the word in capitals."""

    async def async_calls(words: list[str]) -> list[Any]:
        limit = asyncio.Semaphore(32)

        async def one(word: str) -> Any:
            async with limit:
                return await aecho(word)

        return await asyncio.gather(*(one(word) for word in words), return_exceptions=True)

    words = {mode: [f"{mode}{index}" for index in range(count)] for mode, count in CALLS.items()}
    results: dict[str, list[Any]] = {"sync": []}
    for word in words["sync"]:
        try:
            results["sync"].append(echo(word))
        except Exception as failure:  # counted as lost below, with its reason
            results["sync"].append(failure)
    results["async"] = asyncio.run(async_calls(words["async"]))
    results["map"] = byllm.map(echo, words["map"], concurrency=16)
    return results, injector


def test_no_call_is_lost_under_twenty_percent_injected_faults(fake_server: FakeLLMServer) -> None:
    results, injector = run_with_faults(fake_server)
    lost = {mode: [(index, repr(result)) for index, result in enumerate(answers)
                   if result != f"{mode.upper()}{index}"] for mode, answers in results.items()}
    assert lost == {mode: [] for mode in CALLS}
    total_calls = sum(CALLS.values())
    faults = sum(injector.injected.values())
    assert injector.requests == total_calls + faults  # each fault cost exactly one retry, no more
    assert 0.15 < faults / injector.requests < 0.25
    assert set(injector.injected) == set(transient_faults(openai_text("x")))  # every fault form occurred
    print(f"\nfault run: {total_calls} calls, {injector.requests} requests, {faults} faults injected "
          f"({faults / injector.requests:.1%}), 0 lost; by kind: {json.dumps(dict(sorted(injector.injected.items())))}")


def test_fault_injection_is_reproducible_from_its_seed() -> None:
    def faults_for(seed: int) -> list[str]:
        injector = FaultInjector(shout, call_id=word_of, rate=0.2, seed=seed)
        requests = [RecordedRequest("POST", "/v1/chat/completions", {},
                                    {"messages": [{"content": f'- word = "w{index}"'}]}) for index in range(200)]
        return [type(reply).__name__ + str(reply.status) + str(reply.delay) for reply in map(injector, requests)]

    same: Callable[[int], list[str]] = faults_for
    assert same(7) == faults_for(7)
    assert faults_for(7) != faults_for(8)
