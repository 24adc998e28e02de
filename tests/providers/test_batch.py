"""Batches: ``byllm.map`` / ``byllm.amap`` keep order, limit concurrency and keep per-item errors."""

from __future__ import annotations

import asyncio
import threading

import pytest

import byllm
from byllm.batch import failures
from byllm.lib import ConfigurationError, Model, ProviderError, by
from fake_server import FakeLLMServer, RecordedRequest, Scripted, error, openai_text

KEY = "sk-batch-123456789"


def shout_responder(request: RecordedRequest) -> Scripted:
    """Answer with the input word upper-cased; the word 'poison' gets a 400."""
    prompt = request.body["messages"][1]["content"]
    word = prompt.split('= "')[1].split('"')[0]
    if word == "poison":
        return error(400, "cannot shout poison")
    return openai_text(word.upper())


def shouter(fake_server: FakeLLMServer, **config: object):
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY, max_retries=0, **config)

    @by(llm)
    def shout(word: str) -> str:
        """Shout the word."""

    @by(llm)
    async def ashout(word: str) -> str:
        """Shout the word."""

    return shout, ashout


def test_map_returns_results_in_input_order_with_errors_in_place(fake_server: FakeLLMServer) -> None:
    fake_server.responder = shout_responder
    shout, _ = shouter(fake_server)
    words = [f"w{index}" for index in range(40)]
    words[7] = "poison"
    results = byllm.map(shout, words, concurrency=8)
    assert results[:7] == [word.upper() for word in words[:7]]
    assert results[8:] == [word.upper() for word in words[8:]]
    assert isinstance(results[7], ProviderError)
    assert [index for index, _ in failures(results)] == [7]


def test_map_runs_up_to_concurrency_calls_at_once(fake_server: FakeLLMServer) -> None:
    # The first four requests must all be in flight together to pass the barrier.
    together = threading.Barrier(4, timeout=10)
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def responder(request: RecordedRequest) -> Scripted:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
            first_wave = len(fake_server.requests) <= 4
        try:
            if first_wave:
                together.wait()
            return shout_responder(request)
        finally:
            with lock:
                in_flight -= 1

    fake_server.responder = responder
    shout, _ = shouter(fake_server)
    results = byllm.map(shout, ["a", "b", "c", "d", "e", "f", "g", "h"], concurrency=4)
    assert results == ["A", "B", "C", "D", "E", "F", "G", "H"]
    assert most == 4


def test_amap_awaits_async_functions_in_order(fake_server: FakeLLMServer) -> None:
    fake_server.responder = shout_responder
    _, ashout = shouter(fake_server)
    words = ["x", "poison", "y", "z"]
    results = asyncio.run(byllm.amap(ashout, words, concurrency=2))
    assert results[0] == "X" and results[2:] == ["Y", "Z"]
    assert isinstance(results[1], ProviderError)


def test_map_runs_async_functions_on_an_event_loop(fake_server: FakeLLMServer) -> None:
    fake_server.responder = shout_responder
    _, ashout = shouter(fake_server)
    assert byllm.map(ashout, ["p", "q"], concurrency=2) == ["P", "Q"]


def test_map_zips_several_iterables_like_the_builtin() -> None:
    assert byllm.map(lambda a, b: a * b, [1, 2, 3], [4, 5, 6]) == [4, 10, 18]
    assert byllm.map(len, []) == []


def test_amap_runs_plain_functions_in_threads() -> None:
    def check(value: int) -> int:
        if value < 0:
            raise ValueError(f"negative: {value}")
        return value * 2

    results = asyncio.run(byllm.amap(check, [1, -1, 3]))
    assert results[0] == 2 and results[2] == 6
    assert isinstance(results[1], ValueError) and str(results[1]) == "negative: -1"


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    byllm.map(str, range(3))
    assert capsys.readouterr().err == ""  # stderr is not a terminal under pytest
    byllm.map(str, range(3), progress=True)
    assert "str" in capsys.readouterr().err


def test_invalid_concurrency_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="concurrency"):
        byllm.map(str, [1], concurrency=0)
    with pytest.raises(ConfigurationError, match="concurrency"):
        asyncio.run(byllm.amap(str, [1], concurrency=-2))
