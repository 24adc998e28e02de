"""The usage plugin: tokens and cost per call and per run, retries and tool turns included.

Token counts come from the providers' usage data. Cost uses a price table in
USD per million tokens that users extend with :func:`set_price` or the config
file's ``[byllm.prices]`` table. Replies served from a cache cost nothing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Generator

from jaclang.runtimelib.machine import hookimpl
import byllm.hooks  # noqa: F401  (the llm_complete hook specs)
from byllm.plugins.calls import CallContext, CallTracker, CompletionEvent, observe_completion, when_settled
from byllm.plugins.records import function_name
from byllm.providers.base import CompletionReply, CompletionRequest
from byllm.settings import get_settings

if TYPE_CHECKING:
    from byllm.llm import Model

# USD per million tokens (input, output), list prices when this table was written.
# Names match exactly or by prefix (``gpt-4o-mini-2024-07-18`` uses ``gpt-4o-mini``);
# a provider prefix (``openai/``, ``anthropic/``) is ignored when looking up.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o1": (15.00, 60.00),
    "o1-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "claude-3-haiku": (0.25, 1.25),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
    "claude-3-opus": (15.00, 75.00),
    "mockllm": (0.0, 0.0),
    "mock": (0.0, 0.0),
}

_user_prices: dict[str, tuple[float, float]] = {}
_lock = threading.Lock()


def set_price(model_name: str, input_per_million: float, output_per_million: float) -> None:
    """Set the price of a model (USD per million input and output tokens)."""
    if input_per_million < 0 or output_per_million < 0:
        raise ValueError(f"prices cannot be negative: {model_name} {input_per_million}/{output_per_million}")
    with _lock:
        _user_prices[model_name] = (float(input_per_million), float(output_per_million))


def price_table() -> dict[str, tuple[float, float]]:
    """Every known price: built-ins, then the config file, then :func:`set_price` (last wins)."""
    return {**DEFAULT_PRICES, **get_settings().prices, **_user_prices}


def price_of(model_name: str) -> tuple[float, float] | None:
    """The (input, output) price of a model per million tokens, or ``None`` when unknown."""
    table = price_table()
    for name in (model_name, model_name.split("/", 1)[-1]):
        if name in table:
            return table[name]
    bare = model_name.split("/", 1)[-1]
    prefixes = [name for name in table if bare.startswith(name + "-") or model_name.startswith(name + "-")]
    if prefixes:
        return table[max(prefixes, key=len)]
    return None


def cost_of(model_name: str, input_tokens: int, output_tokens: int) -> float | None:
    """The cost in USD of a completion, or ``None`` when the model's price is unknown."""
    price = price_of(model_name)
    if price is None:
        return None
    return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000


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


class UsageLedger:
    """The last call's usage and the run's totals, safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last: CallUsage | None = None
        self.run = RunUsage()

    def add(self, usage: CallUsage) -> None:
        """Count one finished call."""
        with self._lock:
            self.last = usage
            run = self.run
            run.calls += 1
            run.completions += usage.completions
            run.cached_completions += usage.cached_completions
            run.input_tokens += usage.input_tokens
            run.output_tokens += usage.output_tokens
            if usage.cost is None:
                run.unpriced_tokens += usage.total_tokens
            else:
                run.cost += usage.cost
            per_model = run.by_model.setdefault(usage.model, CallUsage(function="*", model=usage.model))
            per_model.completions += usage.completions
            per_model.cached_completions += usage.cached_completions
            per_model.input_tokens += usage.input_tokens
            per_model.output_tokens += usage.output_tokens
            if per_model.cost is not None and usage.cost is not None:
                per_model.cost += usage.cost
            else:
                per_model.cost = None

    def reset(self) -> None:
        """Forget everything counted."""
        with self._lock:
            self.last = None
            self.run = RunUsage()


ledger = UsageLedger()
tracker = CallTracker("usage")


def last_usage() -> CallUsage | None:
    """Tokens and cost of the most recent finished call in this process."""
    return ledger.last


def run_usage() -> RunUsage:
    """Tokens and cost of every call in this process so far."""
    return ledger.run


def reset_usage() -> None:
    """Start counting from zero."""
    ledger.reset()


def _finisher(context: CallContext) -> Callable[[Any, BaseException | None], None]:
    def finish(value: Any, error: BaseException | None) -> None:
        ledger.add(usage_of_completions(context.function, context.model.model_name, context.completions))

    return finish


async def _observe_async(pending: Any, record: Callable[[Any, BaseException | None], None]) -> CompletionReply:
    try:
        reply = await pending
    except BaseException as error:
        record(None, error)
        raise
    record(reply, None)
    return reply


class UsagePlugin:
    """Counts tokens and cost of every completion, grouped by ``by llm()`` call."""

    @staticmethod
    @hookimpl(wrapper=True)
    def call_llm(model: Model, caller: Callable, args: dict[str | int, object]) -> Generator[None, Any, Any]:
        """Open a call, let it run, then add its completions up."""
        context = CallContext(function=function_name(caller), model=model)
        token = tracker.enter(context)
        try:
            result = yield
        except BaseException as error:
            _finisher(context)(None, error)
            raise
        finally:
            tracker.leave(token)
        return when_settled(result, _finisher(context))

    @staticmethod
    @hookimpl(wrapper=True)
    def llm_complete(model: Model, request: CompletionRequest) -> Generator[None, CompletionReply, CompletionReply]:
        """Record one completion's usage into the current call."""
        record = observe_completion(tracker, request, time.perf_counter())
        try:
            reply = yield
        except BaseException as error:
            event = record(None, error)
            if tracker.current() is None:
                ledger.add(usage_of_completions("-", model.model_name, [event]))
            raise
        event = record(reply, None)
        if tracker.current() is None:
            ledger.add(usage_of_completions("-", model.model_name, [event]))
        return reply

    @staticmethod
    @hookimpl(wrapper=True)
    def llm_acomplete(model: Model, request: CompletionRequest) -> Generator[None, Any, Any]:
        """Async form: record once the reply arrives."""
        pending = yield
        observe = observe_completion(tracker, request, time.perf_counter())

        def record(reply: Any, error: BaseException | None) -> None:
            event = observe(reply, error)
            # Runs inside the task awaiting the reply, which carries the call context.
            if tracker.current() is None:
                ledger.add(usage_of_completions("-", model.model_name, [event]))

        return _observe_async(pending, record)
