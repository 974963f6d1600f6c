"""The pure half of the signal contract: ids derived, never random; versions labelled."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from petrosa.contracts import Interval
from petrosa.contracts.signals import SIGNAL_NAMESPACE, SignalAction
from petrosa.tabot import (
    CATALOGUE,
    IndicatorCache,
    candle_signal,
    candle_signal_id,
    evaluate,
    higher_interval,
    performance,
    relative_strength,
    strategy_version,
)
from tests.unit.tabot.candles import random_walk

KEY = {
    "strategy_id": "momentum_pulse",
    "strategy_version": "1",
    "market": "futures",
    "symbol": "BTCUSDT",
    "timeframe": "15m",
    "candle_open_time": 1_700_000_100_000,
    "action": "buy",
}


def test_the_signal_id_is_the_uuid5_of_the_specified_key() -> None:
    expected = uuid.uuid5(
        SIGNAL_NAMESPACE, "momentum_pulse|1|futures|BTCUSDT|15m|1700000100000|buy"
    )
    assert candle_signal_id(**KEY) == str(expected) == candle_signal_id(**KEY)  # type: ignore[arg-type]
    assert candle_signal_id(**{**KEY, "market": "spot"}) != str(expected)  # type: ignore[arg-type]


def test_overridden_parameters_label_the_version_with_their_hash() -> None:
    pulse = CATALOGUE[0]
    assert strategy_version(pulse, pulse.defaults) == "1"
    label = strategy_version(pulse, pulse.params({"rsi_max": 70}))
    assert label.startswith("1+")
    assert len(label) == 10
    assert label == strategy_version(pulse, pulse.params({"rsi_max": 70.0}))


def test_a_published_decision_becomes_the_contracts_signal_without_sizing() -> None:
    candles = random_walk(3_000, seed=3)
    indicators = IndicatorCache(candles)
    strategy = next(s for s in CATALOGUE if s.id == "range_break_pop")
    result = evaluate(strategy, indicators)
    row = int(result.rows()[0])
    signal = candle_signal(strategy, result, indicators, row=row, symbol="ETHUSDT", market="spot")
    again = candle_signal(strategy, result, indicators, row=row, symbol="ETHUSDT", market="spot")
    assert signal.signal_id == again.signal_id
    assert signal.action is SignalAction.BUY
    assert float(signal.price) == candles.close[row]
    assert signal.stop_loss is not None
    assert signal.take_profit is not None
    assert signal.stop_loss < signal.price < signal.take_profit
    assert signal.quantity is None
    assert signal.position_size_pct is None
    assert int(signal.timestamp.timestamp() * 1000) == candles.close_time[row]
    assert signal.candle_open_time == candles.open_time[row]
    assert signal.event_time == signal.candle_close_time == candles.close_time[row]
    assert (signal.market, signal.strategy_version) == ("spot", "1")
    meta = signal.metadata
    assert set(meta["indicators"]) == {"ATR14"}
    assert meta["reward_risk"] == pytest.approx(2.0)


def test_the_higher_timeframe_is_the_smallest_interval_four_times_longer() -> None:
    pairs = {"5m": "30m", "15m": "1h", "1h": "4h", "4h": "1d", "1m": "5m", "1d": "1w"}
    assert {k: higher_interval(Interval(k)).value for k in pairs} == pairs


def test_relative_strength_ranks_the_universe_or_falls_back_to_the_benchmark() -> None:
    walks = {f"S{n}USDT": random_walk(400, seed=n, interval=Interval.D1) for n in range(12)}
    scores = {name: performance(w.close)[-1] for name, w in walks.items()}
    best, worst = max(scores, key=scores.__getitem__), min(scores, key=scores.__getitem__)
    for name, expected in ((best, 100.0), (worst, 0.0)):
        rank = relative_strength(walks, name, passing_rank=70, min_symbols=10)
        assert np.isnan(rank[:364]).all()
        assert rank[-1] == expected
    few = {"BTCUSDT": walks["S0USDT"], "S3USDT": walks["S3USDT"]}
    fallback = relative_strength(few, "S3USDT", passing_rank=70)
    beats = performance(few["S3USDT"].close) > performance(few["BTCUSDT"].close)
    np.testing.assert_array_equal(fallback[364:], np.where(beats, 70.0, 0.0)[364:])
