"""trade_momentum: a burst of aggressive one-sided, unusually large trading fires once;
balanced flow, one-sided flow at normal activity and a burst before the 30 min activity
history exists do not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from petrosa.realtime import AggTrade, Side
from tests.unit.realtime.tape import Flow, at, engine_for, event_ms, merge, run, trades

BURST = 1_900.0  # after the 30.5 min warm-up (the activity median needs 30 min)
QUIET = Flow()


def with_burst(side: Side, start: float = BURST) -> list[AggTrade]:
    def burst(seconds: float) -> Flow:
        moved = seconds - start
        return Flow(price=100 * (1 + side * 0.00015 * moved), buy_share=1.0 if side > 0 else 0.0,
                    qty=3.0, noise=0.00001)  # fmt: skip

    normal = trades(0, start + 60, lambda s: QUIET)
    heavy = trades(start, start + 20, burst, every_ms=50, seed=3, first_id=10_000_000)
    return merge(normal, heavy)


def _renumber(events: list[AggTrade]) -> list[AggTrade]:
    """Trade ids in time order, as Binance's are."""
    return [replace(event, trade_id=i + 1) for i, event in enumerate(events)]


def test_balanced_flow_is_silent() -> None:
    engine = engine_for("trade_momentum")
    assert run(engine, trades(0, 2_400, lambda s: QUIET)) == []
    assert engine.status().strategies["trade_momentum"].value == "ready"


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_an_aggressive_burst_fires_once_on_its_side(side: Side) -> None:
    out = run(engine_for("trade_momentum"), _renumber(with_burst(side)))
    assert len(out) == 1
    signal = out[0].signal
    assert signal.action.value == side.action
    inputs = signal.metadata["inputs"]
    assert at(BURST) < event_ms(signal) < at(BURST + 20)
    score = inputs["score"]
    assert score == pytest.approx(
        0.4 * inputs["price_move"] + 0.3 * inputs["large_flow"] + 0.3 * inputs["flow"]
    )
    assert side * score >= 0.7
    assert inputs["trades"] >= 50
    assert inputs["window_notional"] >= 1.5 * inputs["median_notional"]
    assert signal.confidence == pytest.approx(0.60 + 0.30 * min(1, (abs(score) - 0.7) / 0.3))
    price = float(signal.price)
    assert float(signal.stop_loss or 0) == pytest.approx(price - side * 0.003 * price)
    assert float(signal.take_profit or 0) == pytest.approx(price + side * 0.006 * price)


def test_one_sided_flow_at_normal_activity_is_silent() -> None:
    def drift(seconds: float) -> Flow:
        return Flow(price=100 * (1 + 0.0001 * max(0.0, seconds - BURST)), buy_share=1.0)

    stream = merge(trades(0, BURST, lambda s: QUIET), trades(BURST, BURST + 60, drift, seed=5,
                                                             first_id=10_000_000))  # fmt: skip
    assert run(engine_for("trade_momentum"), _renumber(stream)) == []


def test_a_burst_before_the_activity_history_exists_is_silent() -> None:
    engine = engine_for("trade_momentum")
    assert run(engine, _renumber(with_burst(Side.BUY, start=600.0))) == []
    assert engine.status().strategies["trade_momentum"].value == "warming"
