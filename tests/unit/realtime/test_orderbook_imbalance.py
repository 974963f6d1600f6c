"""orderbook_imbalance: a skew held for 10 s fires once, on the right side, with risk-unit
levels; a quiet book, a skew in the hysteresis band or a short one does not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from petrosa.realtime import Side
from petrosa.realtime.strategies import ImbalanceParams
from tests.unit.realtime.tape import BookShape, at, books, engine_for, event_ms, flat_candles, run

QUIET = BookShape()


def skewed(
    start: float, end: float, bid_scale: float = 3.0, ask_scale: float = 1.0
) -> Callable[[float], BookShape]:
    def shape(seconds: float) -> BookShape:
        if start <= seconds < end:
            return BookShape(bid_scale=bid_scale, ask_scale=ask_scale)
        return QUIET

    return shape


def test_quiet_book_is_silent() -> None:
    engine = engine_for("orderbook_imbalance")
    assert run(engine, books(0, 400, lambda s: QUIET)) == []
    assert engine.stats.strategies["orderbook_imbalance"].evaluations == 4000


@pytest.mark.parametrize(("bids", "asks", "side"), [(3.0, 1.0, Side.BUY), (1.0, 3.0, Side.SELL)])
def test_a_sustained_skew_fires_once_on_its_side(bids: float, asks: float, side: Side) -> None:
    engine = engine_for("orderbook_imbalance", candles=flat_candles(span=0.5))
    out = run(engine, books(0, 260, skewed(150, 250, bids, asks)))
    assert len(out) == 1
    signal = out[0].signal
    assert signal.action.value == side.action
    # Every sample of seconds 150…159 skewed: the first snapshot of second 159 completes it.
    assert event_ms(signal) == at(159)
    mean = signal.metadata["inputs"]["mean_imbalance"]
    assert side * mean == pytest.approx(0.5, abs=0.03)
    assert signal.confidence == pytest.approx(0.60 + 0.30 * (abs(mean) - 0.30) / 0.40)
    price = float(signal.price)
    unit = 2 * 0.5  # 2·ATR14 (1.0) > 0.3 % of 100
    assert float(signal.stop_loss or 0) == pytest.approx(price - side * unit)
    assert float(signal.take_profit or 0) == pytest.approx(price + side * 2 * unit)
    assert price == pytest.approx(100.0)
    assert signal.timeframe == "tick"


def test_a_skew_shorter_than_the_persistence_is_silent() -> None:
    engine = engine_for("orderbook_imbalance")
    assert run(engine, books(0, 260, skewed(150, 158.5))) == []


def test_hysteresis_a_dip_into_the_band_does_not_rearm_a_dip_below_does() -> None:
    def shape(seconds: float) -> BookShape:
        if 150 <= seconds < 180 or 185 <= seconds < 215 or 350 <= seconds < 380:
            return BookShape(bid_scale=3.0)  # I ≈ 0.5
        if 180 <= seconds < 185:
            return BookShape(bid_scale=1.5)  # I ≈ 0.2: in the band, stays disarmed
        return QUIET

    engine = engine_for("orderbook_imbalance")
    out = run(engine, books(0, 400, shape))
    assert [event_ms(e.signal) for e in out] == [at(159), at(359)]


def test_cooldown_blocks_a_second_edge_inside_it() -> None:
    def shape(seconds: float) -> BookShape:
        if 150 <= seconds < 165 or 170 <= seconds < 185:
            return BookShape(bid_scale=3.0)
        return QUIET

    engine = engine_for("orderbook_imbalance")
    out = run(engine, books(0, 300, shape))
    assert len(out) == 1
    assert engine.stats.strategies["orderbook_imbalance"].cooldown_blocked == 1
    shorter = engine_for("orderbook_imbalance", params=ImbalanceParams(cooldown_s=10))
    assert len(run(shorter, books(0, 300, shape))) == 2


def test_a_wide_spread_keeps_it_silent() -> None:
    def shape(seconds: float) -> BookShape:
        return BookShape(bid_scale=3.0, spread=0.2) if 150 <= seconds < 250 else QUIET

    assert run(engine_for("orderbook_imbalance"), books(0, 260, shape)) == []
