"""spread_liquidity: a blow-out that recovers (buy) and a withdrawal of liquidity (sell)
fire once each, with stops of at least 0.5 % of mid; a quiet book does not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from petrosa.realtime.strategies import SpreadParams
from tests.unit.realtime.tape import BookShape, at, books, engine_for, event_ms, run

QUIET = BookShape(spread=0.02)  # 2 bps


def blowout(
    wide: float = 0.5, start: float = 100, end: float = 140, scale: float = 1.0
) -> Callable[[float], BookShape]:
    def shape(seconds: float) -> BookShape:
        if start <= seconds < end:
            return BookShape(spread=wide, bid_scale=scale, ask_scale=scale)
        return QUIET

    return shape


def test_quiet_book_is_silent() -> None:
    assert run(engine_for("spread_liquidity"), books(0, 300, lambda s: QUIET)) == []


def test_blowout_and_recovery_buys_when_liquidity_returns() -> None:
    out = run(engine_for("spread_liquidity"), books(0, 200, blowout()))
    assert [e.signal.action.value for e in out] == ["buy"]
    signal = out[0].signal
    assert event_ms(signal) == at(140)  # the first narrow snapshot
    inputs = signal.metadata["inputs"]
    assert inputs["peak_ratio"] == pytest.approx(25.0)  # 50 bps over 2 bps
    assert inputs["velocity"] < -0.5
    assert inputs["ratio"] < 2.5
    assert signal.confidence == 0.95  # the cap: a recovery this fast has a huge peak
    assert float(signal.price) == pytest.approx(100.0)
    assert float(signal.stop_loss or 0) == pytest.approx(99.5)  # 0.5 % of mid, not 2 spreads
    assert float(signal.take_profit or 0) == pytest.approx(101.0)


def test_buy_confidence_uses_the_peak_ratio_and_the_age() -> None:
    engine = engine_for("spread_liquidity", params=SpreadParams(peak_weight=0.001))
    [emission] = run(engine, books(0, 200, blowout()))
    inputs = emission.signal.metadata["inputs"]
    expected = 0.70 + 0.001 * (inputs["peak_ratio"] - 2.5) + 0.10 * inputs["event_age_s"] / 300
    assert emission.signal.confidence == pytest.approx(expected)
    assert inputs["event_age_s"] == pytest.approx(40.0)


def test_a_recovery_before_the_persistence_or_under_10_bps_is_silent() -> None:
    assert run(engine_for("spread_liquidity"), books(0, 200, blowout(end=120))) == []
    assert run(engine_for("spread_liquidity"), books(0, 200, blowout(wide=0.08))) == []


def test_liquidity_withdrawal_sells_once() -> None:
    out = run(engine_for("spread_liquidity"), books(0, 200, blowout(0.08, scale=0.45)))
    assert [e.signal.action.value for e in out] == ["sell"]
    signal = out[0].signal
    inputs = signal.metadata["inputs"]
    assert event_ms(signal) == at(100)
    assert inputs["ratio"] > 3
    assert inputs["velocity"] > 0.5
    assert inputs["depth_drop"] > 0.5
    expected = 0.70 + 0.10 * inputs["velocity"] + 0.15 * inputs["depth_drop"]
    assert signal.confidence == pytest.approx(min(0.95, expected))
    mid = float(signal.price)
    assert float(signal.stop_loss or 0) == pytest.approx(mid + 0.005 * mid)
    assert float(signal.take_profit or 0) == pytest.approx(mid - 0.01 * mid)
