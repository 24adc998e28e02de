"""The usage plugin: tokens and cost per call and per run, retries and tool turns included.

It is on by default, so it is kept cheap: a call appends its replies to a
tally and adds them to the run's token counts; the last call's
:class:`CallUsage` and the run's cost are worked out only when asked for.

Token counts come from the providers' usage data. Cost uses a price table in
USD per million tokens that users extend with :func:`set_price` or the config
file's ``[byllm.prices]`` table. Replies served from a cache cost nothing.
"""

from __future__ import annotations

import contextvars
import time
from _thread import allocate_lock  # threading.Lock itself, without importing threading
from typing import TYPE_CHECKING, Any, Callable, Generator

from jaclang.runtimelib.machine import hookimpl
import byllm.hooks  # noqa: F401  (the llm_complete hook specs)
from byllm.plugins.marks import function_name, is_cache_hit
from byllm.plugins.settle import when_settled
from byllm.settings import get_settings, when_settings_load

if TYPE_CHECKING:
    from byllm.llm import Model
    from byllm.plugins.usage_totals import CallUsage, RunUsage, usage_of_completions  # noqa: F401
    from byllm.providers.base import CompletionReply, CompletionRequest

# Built when usage is read, not when the plugin loads: see byllm.plugins.usage_totals.
_REPORT_NAMES = frozenset({"CallUsage", "RunUsage", "usage_of_completions"})


def __getattr__(name: str) -> Any:
    """``CallUsage``, ``RunUsage`` and ``usage_of_completions``, imported on first use."""
    if name in _REPORT_NAMES:
        from byllm.plugins import usage_totals

        return getattr(usage_totals, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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
_lock = allocate_lock()
# price_of per model name, so costing a completion is one dictionary look-up;
# emptied when a price changes (set_price, settings reloaded).
_price_memo: dict[str, tuple[float, float] | None] = {}


def set_price(model_name: str, input_per_million: float, output_per_million: float) -> None:
    """Set the price of a model (USD per million input and output tokens)."""
    if input_per_million < 0 or output_per_million < 0:
        raise ValueError(f"prices cannot be negative: {model_name} {input_per_million}/{output_per_million}")
    with _lock:
        _user_prices[model_name] = (float(input_per_million), float(output_per_million))
        _price_memo.clear()


def price_table() -> dict[str, tuple[float, float]]:
    """Every known price: built-ins, then the config file, then :func:`set_price` (last wins)."""
    return {**DEFAULT_PRICES, **get_settings().prices, **_user_prices}


def price_of(model_name: str) -> tuple[float, float] | None:
    """The (input, output) price of a model per million tokens, or ``None`` when unknown."""
    try:
        return _price_memo[model_name]
    except KeyError:
        pass
    price = _look_up_price(model_name)
    _price_memo[model_name] = price
    return price


def _forget_prices(settings: object) -> None:
    _price_memo.clear()


when_settings_load(_forget_prices)


def _look_up_price(model_name: str) -> tuple[float, float] | None:
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


class CallTally:
    """One ``by llm()`` call's replies, kept as they arrive and added up only when asked.

    Counting runs on every call, so it only appends; :meth:`usage` does the
    arithmetic when the last call's usage is asked for.
    """

    __slots__ = ("caller", "model_name", "replies", "finished")

    def __init__(self, caller: Callable | None, model_name: str) -> None:
        self.caller = caller
        self.model_name = model_name
        self.replies: list[CompletionReply | None] = []  # None: a completion that failed
        self.finished = 0.0

    def usage(self) -> CallUsage:
        """Tokens and cost of the call's completions; cache hits cost nothing."""
        from byllm.plugins.usage_totals import CallUsage

        usage = CallUsage(
            function=function_name(self.caller) if self.caller is not None else "-",
            model=self.model_name,
            finished=self.finished,
        )
        final_replies = 0
        for reply in self.replies:
            usage.completions += 1
            if reply is None:
                continue
            if not reply.tool_calls:
                final_replies += 1
            if is_cache_hit(reply):
                usage.cached_completions += 1
                continue
            tokens = reply.usage
            if tokens is None:
                continue
            usage.input_tokens += tokens.input_tokens
            usage.output_tokens += tokens.output_tokens
            cost = _priced(self.model_name, reply.model, tokens.input_tokens, tokens.output_tokens)
            usage.cost = None if cost is None or usage.cost is None else usage.cost + cost
        usage.retries = max(final_replies - 1, 0)
        return usage


class UsageLedger:
    """The last call's usage and the run's totals, safe across threads.

    Counting is kept to a few additions per completion: tokens are summed per
    (model, replying model) pair and priced only when the totals are read, with
    the prices known then.
    """

    def __init__(self) -> None:
        self._lock = allocate_lock()
        self._last: CallTally | None = None
        self._calls = 0
        # (model name, reply's model name) -> [completions, cached, input tokens, output tokens]
        self._counts: dict[tuple[str, str], list[int]] = {}

    @property
    def last(self) -> CallUsage | None:
        """The most recent finished call."""
        last = self._last
        return None if last is None else last.usage()

    def add(self, call: CallTally) -> None:
        """Count one finished call and its completions (one lock per call)."""
        call.finished = time.time()
        model_name = call.model_name
        all_counts = self._counts
        with self._lock:
            self._last = call
            self._calls += 1
            for reply in call.replies:
                key = (model_name, "" if reply is None else reply.model)
                counts = all_counts.get(key)
                if counts is None:
                    counts = all_counts[key] = [0, 0, 0, 0]
                counts[0] += 1
                if reply is None:
                    continue
                if is_cache_hit(reply):
                    counts[1] += 1
                elif reply.usage is not None:
                    counts[2] += reply.usage.input_tokens
                    counts[3] += reply.usage.output_tokens

    @property
    def run(self) -> RunUsage:
        """Totals of every call so far, priced now."""
        from byllm.plugins.usage_totals import CallUsage, RunUsage

        with self._lock:
            run = RunUsage(calls=self._calls)
            counts = [(key, list(values)) for key, values in self._counts.items()]
        for (model_name, reply_model), (completions, cached, input_tokens, output_tokens) in counts:
            cost = _priced(model_name, reply_model, input_tokens, output_tokens)
            run.completions += completions
            run.cached_completions += cached
            run.input_tokens += input_tokens
            run.output_tokens += output_tokens
            if cost is None:
                run.unpriced_tokens += input_tokens + output_tokens
            else:
                run.cost += cost
            per_model = run.by_model.get(model_name)
            if per_model is None:
                per_model = run.by_model[model_name] = CallUsage(function="*", model=model_name)
            per_model.completions += completions
            per_model.cached_completions += cached
            per_model.input_tokens += input_tokens
            per_model.output_tokens += output_tokens
            per_model.cost = None if cost is None or per_model.cost is None else per_model.cost + cost
        return run

    def reset(self) -> None:
        """Forget everything counted."""
        with self._lock:
            self._last = None
            self._calls = 0
            self._counts.clear()


def _priced(model_name: str, reply_model: str, input_tokens: int, output_tokens: int) -> float | None:
    """The cost of tokens a model answered, by the replying model's price or else the configured one's."""
    if not input_tokens and not output_tokens:
        return 0.0
    cost = cost_of(reply_model or model_name, input_tokens, output_tokens)
    if cost is None and reply_model:
        cost = cost_of(model_name, input_tokens, output_tokens)
    return cost


ledger = UsageLedger()


# The call whose completions are being counted (nested calls made by tools get their own).
_current_call: contextvars.ContextVar[CallTally | None] = contextvars.ContextVar("byllm_usage_call", default=None)


def last_usage() -> CallUsage | None:
    """Tokens and cost of the most recent finished call in this process."""
    return ledger.last


def run_usage() -> RunUsage:
    """Tokens and cost of every call in this process so far."""
    return ledger.run


def reset_usage() -> None:
    """Start counting from zero."""
    ledger.reset()


def _count(tally: CallTally | None, model: Model, reply: CompletionReply | None) -> None:
    """Count a completion into its call, or as a call of its own when made outside one."""
    if tally is not None:
        tally.replies.append(reply)
        return
    alone = CallTally(None, model.model_name)
    alone.replies.append(reply)
    ledger.add(alone)


async def _count_async(model: Model, pending: Any) -> CompletionReply:
    # Runs inside the task awaiting the reply, which carries the call's context.
    tally = _current_call.get()
    try:
        reply = await pending
    except BaseException:
        _count(tally, model, None)
        raise
    _count(tally, model, reply)
    return reply


class UsagePlugin:
    """Counts tokens and cost of every completion, grouped by ``by llm()`` call."""

    @staticmethod
    @hookimpl(wrapper=True)
    def call_llm(model: Model, caller: Callable, args: dict[str | int, object]) -> Generator[None, Any, Any]:
        """Open a call, let it run, then add its completions up."""
        tally = CallTally(caller, model.model_name)
        token = _current_call.set(tally)
        try:
            result = yield
        except BaseException:
            ledger.add(tally)
            raise
        finally:
            _current_call.reset(token)
        return when_settled(result, lambda value, error: ledger.add(tally))

    @staticmethod
    @hookimpl(wrapper=True)
    def llm_complete(model: Model, request: CompletionRequest) -> Generator[None, CompletionReply, CompletionReply]:
        """Count one completion into the current call."""
        tally = _current_call.get()
        try:
            reply = yield
        except BaseException:
            _count(tally, model, None)
            raise
        _count(tally, model, reply)
        return reply

    @staticmethod
    @hookimpl(wrapper=True)
    def llm_acomplete(model: Model, request: CompletionRequest) -> Generator[None, Any, Any]:
        """Async form: count once the reply arrives."""
        pending = yield
        return _count_async(model, pending)
