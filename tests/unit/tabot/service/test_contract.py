"""The signal contract's new fields as the trade engine sees them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from petrosa.contracts.signals import Signal
from petrosa.tradeengine.planning import Rejected, SignalRules, precheck

NOW = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
CANDLE = {
    "strategy_id": "momentum_pulse",
    "strategy_version": "1+0a1b2c3d",
    "symbol": "BTCUSDT",
    "market": "futures",
    "timeframe": "15m",
    "action": "buy",
    "confidence": 0.74,
    "price": "100.5",
    "stop_loss": "99",
    "take_profit": "104",
    "candle_open_time": 1_767_268_800_000,
    "candle_close_time": 1_767_269_699_999,
    "event_time": 1_767_269_699_999,
    "timestamp": NOW.isoformat(),
}
RULES = SignalRules(symbols=("BTCUSDT",), max_age_s=60, max_clock_skew_s=5)


def test_a_candle_signal_passes_the_engines_checks() -> None:
    signal = Signal.model_validate(CANDLE)
    assert signal.market is not None
    precheck(signal, RULES, NOW)
    assert signal.stop_loss == Decimal("99")


def test_producers_without_the_new_fields_still_validate() -> None:
    old = {k: v for k, v in CANDLE.items() if k not in ("strategy_version", "market") and
           not k.endswith("_time")}  # fmt: skip
    signal = Signal.model_validate(old)
    assert (signal.strategy_version, signal.candle_open_time, signal.event_time) == (None,) * 3


@pytest.mark.parametrize("action", ["hold", "alert"])
def test_holds_and_alerts_are_refused_on_signals_trading(action: str) -> None:
    with pytest.raises(Rejected):
        precheck(Signal.model_validate({**CANDLE, "action": action}), RULES, NOW)


def test_candle_times_must_be_in_order() -> None:
    with pytest.raises(ValidationError, match="candle_close_time"):
        Signal.model_validate({**CANDLE, "candle_close_time": CANDLE["candle_open_time"]})
