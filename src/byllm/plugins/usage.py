"""The usage plugin: tokens and cost per call and per run, from each finished call record.

On by default and kept cheap: the ``llm_call_finished`` hook of the
``byllm-usage`` entry point (:class:`byllm.plugins.entry.UsagePlugin`, which
imports this module on the first call) adds each record's totals (computed
once by the record, retries and tool turns included, cache hits free) to the
run's counts under one lock. Prices live in
:mod:`byllm.pricing` (:func:`set_price` is re-exported here).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from byllm.plugins.entry import UsagePlugin
from byllm.pricing import DEFAULT_PRICES, cost_of, price_of, set_price

if TYPE_CHECKING:
    from byllm.call import CallRecord

__all__ = [
    "DEFAULT_PRICES", "UNPRICED", "CallUsage", "RunUsage", "UsagePlugin", "cost_of", "format_cost", "last_usage", "price_of",
    "reset_usage",
    "run_usage", "set_price",
]


UNPRICED = "unpriced"


def format_cost(cost: float | None) -> str:
    """A cost as every report shows it (``jac run --usage``, ``jac logs``): ``$0.000123``, or ``unpriced``."""
    return UNPRICED if cost is None else f"${cost:.6f}"


@dataclass
class CallUsage:
    """Tokens and cost of one ``by llm()`` call (every completion it made), or of one model over a run."""

    function: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0  # None when the model has no price
    completions: int = 0
    cached_completions: int = 0
    retries: int = 0
    finished: float = field(default_factory=time.time)
    calls: int = 0  # by llm() calls counted (run totals per model)

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def add(self, record: CallRecord, cached: int) -> None:
        """Count one more call of this model (``cached``: how many of its completions a cache answered)."""
        self.input_tokens += record.usage.input_tokens
        self.output_tokens += record.usage.output_tokens
        self.cost = None if record.cost is None or self.cost is None else self.cost + record.cost
        self.completions += len(record.attempts)
        self.cached_completions += cached
        self.retries += record.retries


@dataclass
class RunUsage:
    """Totals for this process so far, overall and per model."""

    calls: int = 0
    completions: int = 0
    cached_completions: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0  # None once a call's model had no price ("unpriced"), as for one call
    priced_cost: float = 0.0  # the cost of the priced calls alone
    unpriced_tokens: int = 0  # tokens of models with no price
    by_model: dict[str, CallUsage] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


class UsageLedger:
    """The last call and the per-model totals, safe across threads; run totals are summed when read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last: CallRecord | None = None
        self.by_model: dict[str, CallUsage] = {}

    def add(self, record: CallRecord) -> None:
        """Count one finished call (runs on every call: one pass over its attempts, one lock)."""
        cached = 0
        for attempt in record.attempts:
            cached += attempt.cached
        with self._lock:
            self.last = record
            per_model = self.by_model.get(record.model_name)
            if per_model is None:
                per_model = self.by_model[record.model_name] = CallUsage(function="*", model=record.model_name)
            per_model.add(record, cached)
            per_model.calls += 1

    @property
    def run(self) -> RunUsage:
        """The run's totals, summed over the models now (a snapshot)."""
        with self._lock:
            by_model = {name: CallUsage(**vars(usage)) for name, usage in self.by_model.items()}
        run = RunUsage(by_model=by_model)
        for usage in by_model.values():
            run.calls += usage.calls
            run.completions += usage.completions
            run.cached_completions += usage.cached_completions
            run.input_tokens += usage.input_tokens
            run.output_tokens += usage.output_tokens
            if usage.cost is None:
                run.unpriced_tokens += usage.total_tokens
                run.cost = None
            else:
                run.priced_cost += usage.cost
                if run.cost is not None:
                    run.cost += usage.cost
        return run

    def reset(self) -> None:
        """Forget everything counted."""
        with self._lock:
            self.last = None
            self.by_model = {}


ledger = UsageLedger()


def last_usage() -> CallUsage | None:
    """Tokens and cost of the most recent finished call in this process."""
    record = ledger.last
    if record is None:
        return None
    usage = CallUsage(function=record.function, model=record.model_name, finished=record.started_at + record.duration)
    usage.add(record, sum(attempt.cached for attempt in record.attempts))
    return usage


def run_usage() -> RunUsage:
    """Tokens and cost of every call in this process so far (a snapshot)."""
    return ledger.run


def reset_usage() -> None:
    """Start counting from zero."""
    ledger.reset()
