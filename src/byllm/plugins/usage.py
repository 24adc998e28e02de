"""The usage plugin: tokens and cost per call and per run, counted from each finished call record.

On by default, so kept cheap: a few sums from the record's totals and one lock per call.
Prices live in :mod:`byllm.pricing`; its functions are re-exported here.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from byllm.pricing import DEFAULT_PRICES, cost_of, price_of, set_price

if TYPE_CHECKING:
    from byllm.call import CallRecord

__all__ = [
    "DEFAULT_PRICES", "UNPRICED", "CallUsage", "RunUsage", "cost_of", "format_cost", "last_usage", "price_of",
    "reset_usage", "run_usage", "set_price",
]

UNPRICED = "unpriced"


def format_cost(cost: float | None) -> str:
    """A cost as every report shows it (``jac run --usage``, ``jac logs``): ``$0.000123``, or ``unpriced``."""
    return UNPRICED if cost is None else f"${cost:.6f}"


@dataclass(kw_only=True)
class Totals:
    """Calls, completions, tokens and cost summed."""

    calls: int = 0
    completions: int = 0
    cached_completions: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0  # None once a model had no price ("unpriced")

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def include(self, other: Totals) -> None:
        """Add ``other``'s totals to these (the cost becomes unknown once either is)."""
        self.calls += other.calls
        self.completions += other.completions
        self.cached_completions += other.cached_completions
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost = None if self.cost is None or other.cost is None else self.cost + other.cost


@dataclass(kw_only=True)
class CallUsage(Totals):
    """Tokens and cost of one ``by llm()`` call (every completion it made), or of one model over a run."""

    function: str
    model: str
    retries: int = 0

    def add(self, record: CallRecord) -> None:
        """Count one more call of this model (from the totals on its record)."""
        usage = record.usage
        completions = len(record.attempts)
        self.calls += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        if self.cost is not None:
            self.cost = None if record.cost is None else self.cost + record.cost
        self.completions += completions
        self.cached_completions += record.cached_completions
        if completions > 1:
            self.retries += completions - 1


@dataclass(kw_only=True)
class RunUsage(Totals):
    """Totals for this process so far, overall and per model."""

    priced_cost: float = 0.0  # the cost of the priced calls alone
    unpriced_tokens: int = 0  # tokens of models with no price
    by_model: dict[str, CallUsage] = field(default_factory=dict)


class UsageLedger:
    """The last call and the per-model totals, safe across threads; run totals are summed when read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last: CallRecord | None = None
        self.by_model: dict[str, CallUsage] = {}

    def add(self, record: CallRecord) -> None:
        """Count one finished call (runs on every call: a few sums, one lock)."""
        with self._lock:
            self.last = record
            per_model = self.by_model.get(record.model_name)
            if per_model is None:
                per_model = self.by_model[record.model_name] = CallUsage(function="*", model=record.model_name)
            per_model.add(record)

    @property
    def run(self) -> RunUsage:
        """The run's totals, summed over the models now (a snapshot)."""
        with self._lock:
            run = RunUsage(by_model={name: dataclasses.replace(usage) for name, usage in self.by_model.items()})
        for usage in run.by_model.values():
            run.include(usage)
            if usage.cost is None:
                run.unpriced_tokens += usage.total_tokens
            else:
                run.priced_cost += usage.cost
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
    usage = CallUsage(function=record.function, model=record.model_name)
    usage.add(record)
    return usage


def run_usage() -> RunUsage:
    """Tokens and cost of every call in this process so far (a snapshot)."""
    return ledger.run


def reset_usage() -> None:
    """Start counting from zero."""
    ledger.reset()
