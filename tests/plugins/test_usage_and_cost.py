"""Usage and cost: per call and per run, retries included, cache hits free, prices extendable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from byllm import pricing
from byllm.lib import Model, by
from byllm.plugins.usage import cost_of, last_usage, price_of, run_usage, set_price
from byllm.settings import reload_settings


@pytest.fixture(autouse=True)
def forget_user_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pricing, "_user_prices", {})
    monkeypatch.setattr(pricing, "_memo", {})


def test_last_call_usage_counts_every_retry(provider) -> None:
    answers = iter(["nope", "also nope", "7"])
    provider.answer = lambda request: next(answers)

    @by(Model("test/gpt-4o", retries=2))
    def count(word: str) -> int:
        """Count the letters."""

    assert count("abc") == 7
    call = last_usage()
    assert call is not None and call.function.endswith("count")
    assert (call.completions, call.retries) == (3, 2)
    assert (call.input_tokens, call.output_tokens) == (300, 60)
    assert call.cost == pytest.approx((300 * 2.50 + 60 * 10.00) / 1_000_000)


def test_run_totals_add_calls_up_per_model(provider, shout_with) -> None:
    small = shout_with(Model("test/gpt-4o-mini"))
    other = shout_with(Model("test/claude-3-5-haiku-latest"))
    small("a")
    small("b")
    other("c")
    run = run_usage()
    assert (run.calls, run.completions, run.input_tokens, run.output_tokens) == (3, 3, 300, 60)
    assert run.by_model["test/gpt-4o-mini"].input_tokens == 200
    expected = (200 * 0.15 + 40 * 0.60 + 100 * 0.80 + 20 * 4.00) / 1_000_000
    assert run.cost == pytest.approx(expected)


def test_unknown_price_gives_no_cost_until_the_user_sets_one(provider, shout_with) -> None:
    shout = shout_with(Model("test/house-model"))
    shout("a")
    assert last_usage().cost is None
    assert run_usage().unpriced_tokens == 120
    set_price("house-model", 1.0, 2.0)
    shout("b")
    assert last_usage().cost == pytest.approx((100 * 1.0 + 20 * 2.0) / 1_000_000)


def test_prices_from_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "work" / "jac.toml").write_text('[byllm.prices]\n"gpt-4o" = { input = 1.0, output = 1.0 }\n')
    reload_settings()
    assert price_of("openai/gpt-4o") == (1.0, 1.0)
    set_price("gpt-4o", 3.0, 4.0)
    assert price_of("gpt-4o-2024-08-06") == (3.0, 4.0)


def test_longest_price_prefix_wins() -> None:
    assert price_of("gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert price_of("gpt-4o-2024-08-06") == (2.50, 10.00)
    assert cost_of("unknown-model", 10, 10) is None
    with pytest.raises(ValueError, match="cannot be negative"):
        set_price("x", -1, 0)


def test_cache_hits_cost_nothing(tmp_path: Path, provider, shout_with) -> None:
    shout = shout_with(Model("test/gpt-4o", cache=f"sqlite:///{tmp_path}/c.db"))
    shout("a")
    first = last_usage()
    shout("a")
    second = last_usage()
    assert first.cost > 0 and first.cached_completions == 0
    assert (second.cost, second.cached_completions) == (0.0, 1)
    assert run_usage().cached_completions == 1


def test_async_call_usage(provider, shout_with) -> None:
    asyncio.run(shout_with(Model("test/gpt-4o"), is_async=True)("a"))
    assert last_usage().input_tokens == 100
    assert run_usage().calls == 1


def test_mock_model_reports_zero_usage(shout_with) -> None:
    shout_with(Model("mockllm", outputs=["x"]))("a")
    assert (last_usage().total_tokens, last_usage().cost) == (0, 0.0)


def test_run_usage_is_a_snapshot(provider, shout_with) -> None:
    shout = shout_with(Model("test/gpt-4o"))
    shout("a")
    before = run_usage()
    shout("b")
    assert (before.calls, run_usage().calls) == (1, 2)
    assert before.by_model["test/gpt-4o"].completions == 1
