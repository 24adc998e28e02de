"""Ray Data: a by-llm function over a Dataset with map_batches, on a real local Ray instance."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from scale_support import WORKER_PYTHONPATH

ray = pytest.importorskip("ray", reason="the ray extra is not installed")


@pytest.fixture(scope="module")
def local_ray(scale_server) -> Iterator[None]:
    """A local Ray instance with two CPUs; its workers inherit the fake server's URL and the test path."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"BYLLM_SCALE_TEST_URL": os.environ["BYLLM_SCALE_TEST_URL"],
                                       "PYTHONPATH": WORKER_PYTHONPATH}})
    try:
        yield
    finally:
        ray.shutdown()


def test_map_batches_answers_every_row_with_typed_values_and_error_texts(functions, local_ray) -> None:
    import ray.data

    from byllm.scale.ray import ByLLMBatchMapper

    words = [f"w{index}" for index in range(40)] + ["poison", "LOUD"]
    dataset = ray.data.from_items([{"item": word} for word in words])
    rows = dataset.map_batches(ByLLMBatchMapper, fn_constructor_args=(functions.judge,),
                               fn_constructor_kwargs={"concurrency": 8}, concurrency=2, batch_size=16).take_all()
    by_word = {row["item"]: row for row in rows}
    assert sorted(by_word) == sorted(words)
    assert by_word["LOUD"]["result"] == functions.Verdict("LOUD", functions.Loudness.LOUD)
    assert by_word["w3"]["error"] is None
    assert by_word["poison"]["result"] is None and by_word["poison"]["error"].startswith("ProviderError: ")


def test_map_dataset_runs_jac_functions_and_keeps_order(functions, local_ray) -> None:
    import ray.data
    import scale_jac

    from byllm.scale.ray import map_dataset

    words = [f"v{index}" for index in range(20)]
    dataset = ray.data.from_items([{"item": word} for word in words])
    rows = map_dataset(dataset, scale_jac.judge_jac, actors=1, batch_size=8, concurrency=4).take_all()
    assert [row["result"].word for row in rows] == words
