"""ticker_velocity: a 0.5 % move in 60 s that is still going fires; a quiet tape, a
fading spike, or a slow drift does not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from petrosa.contracts import Market
from petrosa.realtime import Side, SymbolEngine, TickerPrice
from petrosa.realtime.strategies import PriceSource, VelocityParams
from tests.unit.realtime.tape import SYMBOL, Flow, at, engine_for, event_ms, run, trades

RAMP_START = 400.0


def ramp(
    direction: int, per_second: float = 0.0002, length: float = 40.0
) -> Callable[[float], Flow]:
    def flow(seconds: float) -> Flow:
        moved = min(max(seconds - RAMP_START, 0.0), length)
        return Flow(price=100.0 * (1 + direction * per_second * moved), noise=0.00002)

    return flow


def test_quiet_tape_is_silent() -> None:
    engine = engine_for("ticker_velocity")
    assert run(engine, trades(0, 500, lambda s: Flow(noise=0.0005))) == []


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_a_sustained_move_fires_once_on_its_side(side: Side) -> None:
    engine = engine_for("ticker_velocity")
    out = run(engine, trades(0, 560, ramp(side)))
    assert len(out) == 1
    signal = out[0].signal
    assert signal.action.value == side.action
    inputs = signal.metadata["inputs"]
    velocity = inputs["velocity"]
    assert side * velocity >= 0.005
    assert side * inputs["recent_move"] >= 0.001
    # 0.02 %/s: 0.5 % needs ~25 s of ramp against the sample 60 s back (± the noise).
    assert at(RAMP_START + 24) <= event_ms(signal) < at(RAMP_START + 27)
    assert signal.confidence == pytest.approx(0.60 + 0.25 * (abs(velocity) - 0.005) / 0.01)
    price = float(signal.price)
    unit = 0.003 * price  # no candles: the price floor
    assert float(signal.stop_loss or 0) == pytest.approx(price - side * unit)
    assert float(signal.take_profit or 0) == pytest.approx(price + side * 2 * unit)


def test_a_spike_already_fading_is_not_confirmed() -> None:
    def flow(seconds: float) -> Flow:
        if 400 <= seconds < 420:
            return Flow(price=100.8, noise=0.00002)  # jumped 0.8 %, then flat: no 15 s move
        if seconds >= 420:
            return Flow(price=100.7, noise=0.00002)
        return Flow(noise=0.00002)

    out = run(engine_for("ticker_velocity"), trades(0, 470, flow))
    assert [event_ms(e.signal) for e in out] == [at(400)]  # only its first second
    fading = run(engine_for("ticker_velocity"), trades(0, 470, ramp(1, 0.00005, 120)))
    assert fading == []  # 0.3 % a minute never reaches 0.5 % in 60 s


def test_on_spot_the_ticker_last_price_can_drive_it() -> None:
    params = VelocityParams(price_source=PriceSource.TICKER)
    engine = SymbolEngine(Market.SPOT, SYMBOL, {"ticker_velocity": params})
    ticks = [
        TickerPrice(Market.SPOT, SYMBOL, at(s), 100.0 * (1 + 0.0002 * max(0, min(s - 400, 40))))
        for s in range(0, 560)
    ]
    out = run(engine, ticks)
    assert [e.signal.action.value for e in out] == ["buy"]
