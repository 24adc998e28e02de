"""The usage plugin's reports: :class:`CallUsage`, :class:`RunUsage` and adding up a call's completions.

Imported when usage is first asked for (``last_usage()``, ``run_usage()``, the
call log), not when the usage plugin loads: counting itself needs none of it.
Still importable from :mod:`byllm.plugins.usage`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from byllm.plugins.usage import cost_of

if TYPE_CHECKING:
    from byllm.plugins.calls import CompletionEvent


@dataclass
class CallUsage:
    """Tokens and cost of one ``by llm()`` call (every completion it made)."""

    function: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0
    completions: int = 0
    cached_completions: int = 0
    retries: int = 0
    finished: float = field(default_factory=time.time)

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass
class RunUsage:
    """Totals for this process so far, overall and per model."""

    calls: int = 0
    completions: int = 0
    cached_completions: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    unpriced_tokens: int = 0
    by_model: dict[str, CallUsage] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


def usage_of_completions(function: str, model_name: str, events: list[CompletionEvent]) -> CallUsage:
    """Add up the usage of a call's completions; cache hits cost nothing."""
    usage = CallUsage(function=function, model=model_name)
    for event in events:
        usage.completions += 1
        reply = event.reply
        if reply is None:
            continue
        if event.cached:
            usage.cached_completions += 1
            continue
        if reply.usage is None:
            continue
        usage.input_tokens += reply.usage.input_tokens
        usage.output_tokens += reply.usage.output_tokens
        cost = cost_of(reply.model or model_name, reply.usage.input_tokens, reply.usage.output_tokens)
        if cost is None:
            cost = cost_of(model_name, reply.usage.input_tokens, reply.usage.output_tokens)
        if cost is None or usage.cost is None:
            usage.cost = None
        else:
            usage.cost += cost
    finals = [event for event in events if event.reply is not None and not event.reply.tool_calls]
    usage.retries = max(len(finals) - 1, 0)
    return usage
