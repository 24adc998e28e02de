"""By-llm functions, models, results and errors cross process boundaries; byllm.map runs on any executor."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

import byllm
from byllm.errors import OutputConversionError, ProviderError
from byllm.lib import Model
from byllm.scale.shipping import RemoteFailure, ship


def test_a_pickled_model_carries_its_configuration_but_not_its_provider() -> None:
    llm = Model("gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key="sk-passed-by-user", temperature=0.2)
    assert llm.provider is not None  # built: clients and pools belong to this process
    copy = pickle.loads(pickle.dumps(llm(max_tokens=20)))
    assert copy.model_name == "gpt-4o-mini"
    assert copy.settings == {"base_url": "http://127.0.0.1:9/v1", "api_key": "sk-passed-by-user"}
    assert copy.defaults == {"temperature": 0.2}
    assert copy.call_params == {"max_tokens": 20}
    assert copy._shared.provider is None and copy.history == []
    assert copy.provider is not llm.provider  # rebuilt on first use where it landed


def test_a_key_from_the_environment_never_travels_in_a_pickle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-123")
    llm = Model("gpt-4o-mini")
    assert llm.provider.api_key() == "sk-from-the-environment-123"
    data = pickle.dumps(llm)
    assert b"sk-from-the-environment" not in data
    assert "api_key" not in pickle.loads(data).settings


def test_functions_travel_by_reference_from_python_and_jac_modules(functions) -> None:
    import scale_jac

    for function in (functions.judge, functions.ashout, scale_jac.judge_jac):
        data = pickle.dumps(ship(function))
        assert len(data) < 200  # a module and a name, not the model
        assert pickle.loads(data).function is function


def test_typed_results_pickle(functions) -> None:
    import scale_jac

    verdict = functions.judge("HEY")
    assert pickle.loads(pickle.dumps(verdict)) == verdict
    jac_verdict = scale_jac.judge_jac("hey")
    back = pickle.loads(pickle.dumps(jac_verdict))
    assert type(back) is scale_jac.JacVerdict
    assert (back.word, back.loudness) == ("hey", "quiet")


def test_errors_come_back_typed_even_when_pickle_cannot_rebuild_them() -> None:
    error = OutputConversionError("does not fit", raw_output="many", expected_type=int, attempts=["many"])
    back = RemoteFailure.unwrap(pickle.loads(pickle.dumps(RemoteFailure(error))))
    assert type(back) is OutputConversionError
    assert (str(back), back.raw_output, back.expected_type, back.attempts) == ("does not fit", "many", int, ["many"])


@pytest.fixture(scope="module")
def process_pool(scale_server):
    """Two fresh interpreters (spawn): nothing is inherited but the environment."""
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def test_map_on_a_process_pool_keeps_order_types_and_errors(functions, process_pool) -> None:
    words = ["hey", "HEY", "poison", "quiet", "LOUD"]
    results = byllm.map(functions.judge, words, executor=process_pool)
    assert [result.word for index, result in enumerate(results) if index != 2] == ["hey", "HEY", "quiet", "LOUD"]
    assert [result.loudness.value for index, result in enumerate(results) if index != 2] == [
        "quiet", "loud", "quiet", "loud"]
    assert isinstance(results[0], functions.Verdict)
    assert isinstance(results[2], ProviderError) and results[2].status == 400


def test_map_on_a_process_pool_runs_jac_functions_and_chunks(functions, process_pool) -> None:
    import scale_jac

    words = [f"w{index}" for index in range(12)] + ["unparsable"]
    judged = byllm.map(scale_jac.judge_jac, words[:12], executor=process_pool, chunk_size=5, concurrency=4)
    assert [verdict.word for verdict in judged] == words[:12]
    assert type(judged[0]).__name__ == "JacVerdict"
    counted = byllm.map(functions.count, ["unparsable"], executor=process_pool)
    assert isinstance(counted[0], OutputConversionError) and counted[0].raw_output == "many"


def test_map_on_a_process_pool_awaits_async_functions(functions, process_pool) -> None:
    assert byllm.map(functions.ashout, ["a", "b", "c"], executor=process_pool, chunk_size=2) == ["A", "B", "C"]
