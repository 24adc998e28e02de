"""Dask: by-llm functions over bag and dataframe partitions on a real LocalCluster with worker processes."""

from __future__ import annotations

from typing import Iterator

import pytest

import byllm
from byllm.errors import OutputConversionError, ProviderError

dask = pytest.importorskip("dask", reason="the dask extra is not installed")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_client(scale_server) -> Iterator[distributed.Client]:
    """Two worker processes, one thread each; they find the fake server through the environment."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_a_bag_of_words_is_answered_in_order_with_typed_errors(functions, dask_client) -> None:
    import dask.bag

    from byllm.scale.dask import ByLLMPartitionMapper

    words = [f"w{index}" for index in range(60)]
    words[17] = "poison"
    bag = dask.bag.from_sequence(words, npartitions=4)
    results = bag.map_partitions(ByLLMPartitionMapper(functions.judge, concurrency=8)).compute()
    assert [result.word for index, result in enumerate(results) if index != 17] == words[:17] + words[18:]
    assert isinstance(results[0], functions.Verdict)
    assert isinstance(results[17], ProviderError) and results[17].status == 400


def test_jac_functions_and_conversion_errors_come_back_from_dask_workers(functions, dask_client) -> None:
    import dask.bag
    import scale_jac

    from byllm.scale.dask import ByLLMPartitionMapper

    judged = dask.bag.from_sequence(["hey", "HEY"], npartitions=2).map_partitions(
        ByLLMPartitionMapper(scale_jac.judge_jac)).compute()
    assert [(verdict.word, verdict.loudness) for verdict in judged] == [("hey", "quiet"), ("HEY", "loud")]
    counted = dask.bag.from_sequence(["unparsable"], npartitions=1).map_partitions(
        ByLLMPartitionMapper(functions.count)).compute()
    assert isinstance(counted[0], OutputConversionError) and counted[0].raw_output == "many"


def test_a_dataframe_gains_result_and_error_columns(functions, dask_client) -> None:
    import dask.dataframe
    import pandas

    from byllm.scale.dask import map_dataframe

    frame = dask.dataframe.from_pandas(pandas.DataFrame({"text": ["a", "poison", "c", "d"]}), npartitions=2)
    done = map_dataframe(frame, functions.shout, column="text", result_column="loud").compute()
    loud = done["loud"].tolist()
    assert loud[0] == "A" and loud[2:] == ["C", "D"] and pandas.isna(loud[1])
    assert done["error"].tolist()[1].startswith("ProviderError: ")
    assert done["error"].isna().tolist() == [True, False, True, True]


def test_map_runs_on_the_dask_executor(functions, dask_client) -> None:
    results = byllm.map(functions.shout, ["x", "poison", "z"], executor=dask_client.get_executor())
    assert results[0::2] == ["X", "Z"] and isinstance(results[1], ProviderError)
