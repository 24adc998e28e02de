"""Model prices: what a call's tokens cost, for the call record's totals.

Prices are USD per million tokens (input, output). The built-in table holds list
prices when it was written; users extend it with :func:`set_price` or the config
file's ``[byllm.prices]`` table. Names match exactly or by prefix
(``gpt-4o-mini-2024-07-18`` uses ``gpt-4o-mini``); a provider prefix
(``openai/``) is ignored when looking up. An unknown model's cost is ``None``
("unpriced"), never 0.
"""

from __future__ import annotations

import threading

from byllm.settings import get_settings, when_settings_load

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
_memo: dict[str, tuple[float, float] | None] = {}  # price_of per model name; emptied when a price changes


def set_price(model_name: str, input_per_million: float, output_per_million: float) -> None:
    """Set the price of a model (USD per million input and output tokens)."""
    if input_per_million < 0 or output_per_million < 0:
        raise ValueError(f"prices cannot be negative: {model_name} {input_per_million}/{output_per_million}")
    with _lock:
        _user_prices[model_name] = (float(input_per_million), float(output_per_million))
        _memo.clear()


def price_table() -> dict[str, tuple[float, float]]:
    """Every known price: built-ins, then the config file, then :func:`set_price` (last wins)."""
    return {**DEFAULT_PRICES, **get_settings().prices, **_user_prices}


def price_of(model_name: str) -> tuple[float, float] | None:
    """The (input, output) price of a model per million tokens, or ``None`` when unknown."""
    try:
        return _memo[model_name]
    except KeyError:
        pass
    table = price_table()
    bare = model_name.split("/", 1)[-1]
    price = table.get(model_name) or table.get(bare)
    if price is None:
        prefixes = [name for name in table if bare.startswith(name + "-") or model_name.startswith(name + "-")]
        price = table[max(prefixes, key=len)] if prefixes else None
    _memo[model_name] = price
    return price


def cost_of(model_name: str, input_tokens: int, output_tokens: int) -> float | None:
    """The cost in USD of some tokens of a model; 0 for no tokens, ``None`` when unpriced."""
    if not input_tokens and not output_tokens:
        return 0.0
    price = price_of(model_name)
    if price is None:
        return None
    return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000


when_settings_load(lambda settings: _memo.clear())
