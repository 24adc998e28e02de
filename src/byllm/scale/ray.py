"""Ray Data: run a by-llm function over a ``Dataset`` with ``map_batches`` (``pip install "jaclang[ray]"``).

``ByLLMBatchMapper`` is a callable class, Ray's idiom for stateful per-worker
set-up: each actor builds its model, provider and connection pools once, and
answers every batch with up to ``concurrency`` calls in flight on one event
loop::

    ds = ray.data.from_items([{"item": review} for review in reviews])
    judged = ds.map_batches(ByLLMBatchMapper, fn_constructor_args=(classify,), concurrency=2, batch_size=256)

Each output row keeps its columns and gains ``result`` (the typed value, or
``None``) and ``error`` (``"ErrorType: message"``, or ``None``).
"""

from __future__ import annotations

from typing import Any, Callable

from byllm.batch import DEFAULT_CONCURRENCY
from byllm.scale.shipping import as_coroutine_function, describe_failure, run_batch, ship


class ByLLMBatchMapper:
    """A ``Dataset.map_batches`` callable class answering one column's items with a by-llm function."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        column: str = "item",
        result_column: str = "result",
        error_column: str = "error",
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        """Set up once per actor: the function (imported here, with its model) and the calls in flight per batch."""
        self.function = ship(function)
        self.column = column
        self.result_column = result_column
        self.error_column = error_column
        self.concurrency = concurrency
        self._answer = as_coroutine_function(self.function)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        """One batch (numpy format: column -> array) with the result and error columns added."""
        import numpy

        items = list(batch[self.column])
        outcomes = run_batch(self._answer, items, self.concurrency)
        results = numpy.empty(len(outcomes), dtype=object)
        errors = numpy.empty(len(outcomes), dtype=object)
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, BaseException):
                errors[index] = describe_failure(outcome)
            else:
                results[index] = outcome
        return {**batch, self.result_column: results, self.error_column: errors}


def map_dataset(dataset: Any, function: Callable[..., Any], *, column: str = "item", actors: int = 2,
                batch_size: int = 256, concurrency: int = DEFAULT_CONCURRENCY, **options: Any) -> Any:
    """``dataset.map_batches`` with a :class:`ByLLMBatchMapper` on ``actors`` workers (lazy, like Ray Data)."""
    return dataset.map_batches(
        ByLLMBatchMapper,
        fn_constructor_args=(function,),
        fn_constructor_kwargs={"column": column, "concurrency": concurrency},
        concurrency=actors,
        batch_size=batch_size,
        batch_format="numpy",
        **options,
    )
