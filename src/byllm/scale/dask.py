"""Dask: run a by-llm function over ``dask.bag`` and ``dask.dataframe`` partitions (``pip install "jaclang[dask]"``).

Each partition is answered on its worker with up to ``concurrency`` calls in
flight on the worker thread's event loop (kept between partitions, so the
provider's async client and its connections are reused)::

    results = bag.map_partitions(ByLLMPartitionMapper(classify)).compute()
    judged = map_dataframe(frame, classify, column="review", result_column="sentiment").compute()

A bag's results are in item order, a failed item's place holding its typed
exception (as with ``byllm.map``); a dataframe gains a result column and an
error column (``"ErrorType: message"`` or ``None``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from byllm.batch import DEFAULT_CONCURRENCY
from byllm.scale.shipping import as_coroutine_function, describe_failure, run_batch, ship


class ByLLMPartitionMapper:
    """``bag.map_partitions(ByLLMPartitionMapper(fn))``: a partition's items -> their results, in order."""

    def __init__(self, function: Callable[..., Any], *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        """Wrap ``function``; it travels to the workers by reference (see :mod:`byllm.scale.shipping`)."""
        self.function = ship(function)
        self.concurrency = concurrency

    def __call__(self, partition: Iterable[Any]) -> list[Any]:
        """Answer one partition; a failed item's place holds its exception."""
        return run_batch(as_coroutine_function(self.function), list(partition), self.concurrency)


class ByLLMFrameMapper:
    """``frame.map_partitions(ByLLMFrameMapper(fn, column=...), meta=...)``: adds result and error columns."""

    def __init__(self, function: Callable[..., Any], *, column: str, result_column: str = "result",
                 error_column: str = "error", concurrency: int = DEFAULT_CONCURRENCY) -> None:
        """Answer ``column``'s values with ``function`` into ``result_column`` / ``error_column``."""
        self.partition_mapper = ByLLMPartitionMapper(function, concurrency=concurrency)
        self.column = column
        self.result_column = result_column
        self.error_column = error_column

    def __call__(self, partition: Any) -> Any:
        """One pandas partition with the two columns added."""
        outcomes = self.partition_mapper(partition[self.column].tolist())
        failed = [isinstance(outcome, BaseException) for outcome in outcomes]
        return partition.assign(**{
            self.result_column: [None if bad else outcome for bad, outcome in zip(failed, outcomes)],
            self.error_column: [describe_failure(outcome) if bad else None for bad, outcome in zip(failed, outcomes)],
        })


def map_dataframe(frame: Any, function: Callable[..., Any], *, column: str, result_column: str = "result",
                  error_column: str = "error", concurrency: int = DEFAULT_CONCURRENCY) -> Any:
    """``frame`` with ``function`` applied to ``column`` per partition (lazy, like Dask)."""
    meta = frame._meta.assign(**{result_column: object(), error_column: object()})
    meta = meta.astype({result_column: object, error_column: object})
    return frame.map_partitions(
        ByLLMFrameMapper(function, column=column, result_column=result_column, error_column=error_column,
                         concurrency=concurrency),
        meta=meta,
    )
