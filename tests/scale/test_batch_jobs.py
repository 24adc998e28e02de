"""Provider batch jobs against the fake OpenAI Batch API: typed results in order, retries of failed items, records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

import byllm.batch
from jaclang.runtimelib import machine
from byllm.errors import OutputConversionError, ProviderError
from byllm.lib import Model, by
from byllm.plugin import ByllmMachine
from byllm.providers.clients import clear_clients
from byllm.settings import ENVIRONMENT_VARIABLES, forget_settings, reload_settings
from fake_server import FakeBatchServer, RecordedRequest, Scripted

from scale_support import word_responder

KEY = "sk-batch-job-key"


@pytest.fixture
def batch_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeBatchServer]:
    """The fake Batch API; jobs remembered under tmp_path; a fresh plugin manager recording finished calls."""
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    manager = machine.new_plugin_manager()
    manager.register(ByllmMachine, name="byllm")
    monkeypatch.setattr(machine, "plugin_manager", manager)
    reload_settings()
    server = FakeBatchServer(responder=word_responder).start()
    try:
        yield server
    finally:
        server.stop()
        clear_clients()
        forget_settings()


class Ledger:
    """Keeps every finished call record."""

    def __init__(self) -> None:
        self.records: list = []

    @machine.hookimpl
    def llm_call_finished(self, record) -> None:
        self.records.append(record)


def functions_on(server: FakeBatchServer):
    llm = Model("gpt-4o-mini", base_url=server.openai_url, api_key=KEY, max_retries=0)

    @by(llm)
    def shout(word: str) -> str:
        """Shout the word."""

    @by(llm)
    def count(word: str) -> int:
        """Count the letters of the word."""

    return shout, count


def test_a_job_returns_typed_values_in_item_order_with_typed_errors(batch_server: FakeBatchServer) -> None:
    ledger = Ledger()
    machine.plugin_manager.register(ledger)
    shout, _ = functions_on(batch_server)
    words = [f"w{index}" for index in range(30)]
    words[4] = "poison"
    job = byllm.batch.submit(shout, words, poll_interval=0.01)
    assert job.status().state == "in_progress"
    results = job.results()
    assert [result for index, result in enumerate(results) if index != 4] == [
        word.upper() for index, word in enumerate(words) if index != 4]
    assert isinstance(results[4], ProviderError) and results[4].status == 400
    assert batch_server.batch_api.lines_answered == 30
    assert len(ledger.records) == 30  # the call log and usage see every item
    record = ledger.records[0]
    assert record.usage.input_tokens == 11 and record.usage.output_tokens == 7
    list_price = (11 * 0.15 + 7 * 0.60) / 1_000_000
    assert record.cost == pytest.approx(list_price / 2)


def test_retry_failed_resubmits_only_the_failed_items(batch_server: FakeBatchServer) -> None:
    shout, count = functions_on(batch_server)
    poisoned = {"b"}

    def flaky(request: RecordedRequest) -> Scripted:
        prompt = request.body["messages"][-1]["content"]
        if any(f'"{word}"' in prompt for word in poisoned):
            return word_responder(RecordedRequest("POST", request.path, request.headers, {
                "messages": [{"content": prompt.replace('"b"', '"poison"')}]}))
        return word_responder(request)

    batch_server.batch_api.responder = flaky
    job = byllm.batch.submit(shout, ["a", "b", "c"], poll_interval=0.01)
    first = job.results()
    assert first[0::2] == ["A", "C"] and isinstance(first[1], ProviderError)
    poisoned.clear()
    answered_before = batch_server.batch_api.lines_answered
    retry = job.retry_failed()
    assert retry.results() == ["A", "B", "C"]
    assert batch_server.batch_api.lines_answered == answered_before + 1


def test_a_reply_that_does_not_fit_is_a_conversion_error(batch_server: FakeBatchServer) -> None:
    _, count = functions_on(batch_server)
    results = byllm.batch.submit(count, ["unparsable"], poll_interval=0.01).results()
    assert isinstance(results[0], OutputConversionError) and results[0].raw_output == "many"


def test_cached_items_are_not_submitted_and_answers_are_cached(batch_server: FakeBatchServer, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from byllm.plugins.cache import CachePlugin, close_backends

    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path / 'cache.db'}")
    machine.plugin_manager.register(CachePlugin, name="byllm-cache")
    reload_settings()
    try:
        shout, _ = functions_on(batch_server)
        assert byllm.batch.submit(shout, ["a", "b"], poll_interval=0.01).results() == ["A", "B"]
        assert byllm.batch.submit(shout, ["a", "b", "c"], poll_interval=0.01).results() == ["A", "B", "C"]
        assert batch_server.batch_api.lines_answered == 3  # "a" and "b" came from the cache the second time
        assert shout("c") == "C"  # a live call finds the batch's answer in the cache
        assert batch_server.batch_api.lines_answered == 3
    finally:
        close_backends()


def test_jac_batch_lists_checks_and_prints_results_from_another_process(batch_server: FakeBatchServer,
                                                                        tmp_path: Path) -> None:
    shout, _ = functions_on(batch_server)
    job = byllm.batch.submit(shout, ["x", "poison"], poll_interval=0.01)
    environment = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "OPENAI_API_KEY": KEY,
                   "OPENAI_BASE_URL": batch_server.openai_url}

    def jac(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(Path(sys.executable).parent / "jac"), "batch", *arguments], env=environment,
                              capture_output=True, text=True, timeout=120)

    listed = jac("list")
    assert listed.returncode == 0, listed.stderr
    assert job.id in listed.stdout and "2 items" in listed.stdout
    status = jac("status", job.id, "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["state"] in {"in_progress", "completed"}
    printed = jac("results", job.id, "--json", "--poll", "0.01")
    assert printed.returncode == 0, printed.stderr
    rows = [json.loads(line) for line in printed.stdout.splitlines()]
    assert rows[0] == {"index": 0, "value": "X"}
    assert rows[1]["index"] == 1 and rows[1]["error"].startswith("ProviderError: ")


def test_batch_api_errors_are_typed_and_never_show_the_key() -> None:
    from fake_server import FakeLLMServer, error

    from byllm.batch_jobs.openai_api import BatchAPI
    from byllm.errors import AuthenticationError

    with FakeLLMServer() as server:
        server.script(error(401, f"Incorrect API key provided: {KEY}"), error(503, "busy", retry_after="0"),
                      Scripted(body={"id": "batch_1", "status": "validating"}))
        api = BatchAPI(server.openai_url, KEY)
        with pytest.raises(AuthenticationError) as failure:
            api.upload(b"{}\n")
        assert failure.value.status == 401 and KEY not in str(failure.value)
        assert api.create("file-1", "/v1/chat/completions", "24h")["status"] == "validating"  # the 503 was retried
