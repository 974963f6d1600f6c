"""The pure checks of planning: the signal's price against the mark, and its time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D  # noqa: N817 (short for readable money literals)

import pytest

from petrosa.contracts.signals import Signal
from petrosa.tradeengine.planning import Rejected, SignalRules, check_price, precheck

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
RULES = SignalRules(symbols=("BTCUSDT",), max_age_s=60.0, max_clock_skew_s=5.0)


def stamped(at: dt.datetime) -> Signal:
    return Signal(
        signal_id="s-1", strategy_id="s", symbol="BTCUSDT", action="buy", confidence=0.5,
        price=D(100), timestamp=at,
    )  # fmt: skip


@pytest.mark.parametrize("price", [D(95), D(105), D("100.01")])
def test_a_price_within_the_deviation_passes(price: D) -> None:
    check_price(price, D(100), D(5))


def test_a_price_beyond_the_deviation_is_refused_with_both_prices() -> None:
    with pytest.raises(Rejected) as refused:
        check_price(D(100), D(10_000), D(5))
    assert str(refused.value) == "price: signal 100 deviates 99.0% from mark 10000 (max 5%)"
    with pytest.raises(Rejected):
        check_price(D("105.01"), D(100), D(5))


def test_the_clock_skew_allowance_bounds_signals_from_the_future() -> None:
    precheck(stamped(NOW + dt.timedelta(seconds=5)), RULES, NOW)
    with pytest.raises(Rejected, match=r"^future: stamped 2026-06-01T12:00:06\+00:00, 6s ahead"):
        precheck(stamped(NOW + dt.timedelta(seconds=6)), RULES, NOW)
    with pytest.raises(Rejected, match=r"^stale: 61s old"):
        precheck(stamped(NOW - dt.timedelta(seconds=61)), RULES, NOW)


def candle(at: dt.datetime, timeframe: str) -> Signal:
    """A candle signal stamped with its candle's close, as the TA bot makes it."""
    close_ms = int(at.timestamp() * 1000)
    return Signal(
        signal_id="c-1", strategy_id="s", symbol="BTCUSDT", action="buy", confidence=0.5,
        price=D(100), timestamp=at, timeframe=timeframe, candle_open_time=close_ms - 900_000 + 1,
        candle_close_time=close_ms, event_time=close_ms,
    )  # fmt: skip


def test_a_candle_signal_stays_fresh_until_the_next_candle_of_its_timeframe_closes() -> None:
    precheck(candle(NOW - dt.timedelta(seconds=900), "15m"), RULES, NOW)
    with pytest.raises(Rejected, match=r"^stale: 901s old \(max 900s\)"):
        precheck(candle(NOW - dt.timedelta(seconds=901), "15m"), RULES, NOW)
    # a timeframe shorter than the setting: the setting
    precheck(candle(NOW - dt.timedelta(seconds=60), "1m"), RULES, NOW)
    with pytest.raises(Rejected, match=r"^stale: 61s old \(max 60s\)"):
        precheck(candle(NOW - dt.timedelta(seconds=61), "1m"), RULES, NOW)


def test_a_timeframe_without_a_candle_gets_the_setting_only() -> None:
    tick = stamped(NOW - dt.timedelta(seconds=61)).model_copy(update={"timeframe": "15m"})
    with pytest.raises(Rejected, match=r"^stale: 61s old \(max 60s\)"):
        precheck(tick, RULES, NOW)
    realtime = stamped(NOW - dt.timedelta(seconds=61)).model_copy(update={"timeframe": "tick"})
    with pytest.raises(Rejected, match=r"^stale: 61s old"):
        precheck(realtime, RULES, NOW)
