"""funding_rate: an extreme rate inside the last 30 min before settlement fires once per
funding time, fading the crowded side; id time = T."""

from __future__ import annotations

import pytest

from petrosa.contracts import Market
from petrosa.contracts.signals import strategy_signal_id
from petrosa.realtime import SymbolEngine
from tests.unit.realtime.tape import SYMBOL, Funding, at, engine_for, event_ms, marks, run

SETTLE = at(3 * 3600)  # T: three hours after T0


def test_quiet_funding_is_silent_and_an_extreme_far_from_settlement_too() -> None:
    engine = engine_for("funding_rate")
    assert run(engine, marks(0, 3 * 3600, lambda s: Funding(), funding_ms=SETTLE)) == []
    early = run(
        engine_for("funding_rate"),
        marks(0, 2 * 3600, lambda s: Funding(rate=0.002), funding_ms=SETTLE),
    )
    assert early == []


@pytest.mark.parametrize(("rate", "action"), [(0.0012, "sell"), (-0.0012, "buy")])
def test_an_extreme_rate_before_settlement_fires_once(rate: float, action: str) -> None:
    premium = 0.0003 if rate > 0 else -0.0003
    engine = engine_for("funding_rate")
    stream = marks(
        9000, 3 * 3600, lambda s: Funding(rate, 100 * (1 + premium), 100.0), funding_ms=SETTLE
    )
    out = run(engine, stream)
    assert len(out) == 1
    signal = out[0].signal
    assert signal.action.value == action
    assert event_ms(signal) == SETTLE - 30 * 60_000  # the window's first second
    agree = 0.05
    assert signal.confidence == pytest.approx(0.60 + 0.20 * (0.0012 - 0.0005) / 0.0015 + agree)
    assert signal.signal_id == strategy_signal_id(
        strategy_id="funding_rate", strategy_version="1", market="futures", symbol=SYMBOL,
        timeframe="tick", t=SETTLE, action=action,
    )  # fmt: skip
    mark = float(signal.price)
    sign = 1 if action == "buy" else -1
    assert float(signal.stop_loss or 0) == pytest.approx(mark - sign * 0.003 * mark)
    assert float(signal.take_profit or 0) == pytest.approx(mark + sign * 0.006 * mark)


def test_a_premium_against_the_rate_adds_nothing_and_futures_only() -> None:
    engine = engine_for("funding_rate")
    out = run(engine, marks(9000, 10000, lambda s: Funding(0.0012, 99.9, 100.0), funding_ms=SETTLE))
    assert out[0].signal.confidence == pytest.approx(0.60 + 0.20 * 0.7 / 1.5)
    assert "funding_rate" not in SymbolEngine(Market.SPOT, SYMBOL).strategy_ids
