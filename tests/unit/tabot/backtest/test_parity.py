"""The backtest decides like the live path: for every strategy, the signal ids it finds over a
long random walk are those of evaluating, at sampled candles, exactly ``rows_needed()`` rows
ending there and keeping the last candle's decision (what the live runner does)."""

from __future__ import annotations

import asyncio
import dataclasses
from functools import cache

import numpy as np
import pytest

from petrosa.contracts import Interval
from petrosa.tabot import (
    CATALOGUE,
    IndicatorCache,
    candle_signal_id,
    evaluate,
    higher_interval,
    higher_rows_needed,
    relative_strength,
    strategy_version,
)
from petrosa.tabot.backtest import Chosen, Spec, backtest_signals, decisions, signal_ids
from petrosa.tabot.backtest.engine import with_history
from petrosa.tabot.backtest.history import History
from petrosa.tabot.window import CandleWindow
from tests.unit.tabot.backtest.memory import MemoryCandles
from tests.unit.tabot.candles import random_walk, resample

ROWS = 5_000
FIRST = 2_000
"""First candle of the backtest's range: past every strategy's W₀ + 1 + K."""
BASE = Interval.M15
SYMBOL = "ETHUSDT"
QUIET_SAMPLES = 12
FIRED_SAMPLES = 6


def chosen(strategy_id: str) -> Chosen:
    """Every strategy on 15m, including the two whose defaults exclude it."""
    strategy = next(s for s in CATALOGUE if s.id == strategy_id)
    return Chosen(strategy, strategy.params({"timeframes": None}))


@cache
def window() -> CandleWindow:
    candles = random_walk(ROWS, seed=21, interval=BASE)
    benchmark = random_walk(ROWS, seed=22, interval=BASE)
    strength = relative_strength({SYMBOL: candles, "BTCUSDT": benchmark}, SYMBOL, passing_rank=70)
    return dataclasses.replace(
        candles, higher=resample(candles, higher_interval(BASE)), relative_strength=strength
    )


@cache
def history() -> History:
    return with_history(window(), SYMBOL, FIRST)


def spec() -> Spec:
    times = window().open_time
    return Spec((SYMBOL,), BASE, int(times[FIRST]), int(times[-1]) + 1)


def live_id(c: Chosen, t: int) -> str | None:
    """The signal id the live runner publishes when candle ``t`` has just closed."""
    needed = c.strategy.rows_needed(c.params)
    cut = window().rows(t + 1 - needed, t + 1)
    higher_warm_up = c.strategy.higher_warm_up(c.params)
    if higher_warm_up is not None and cut.higher is not None:
        count = higher_rows_needed(BASE, cut.higher.interval, len(cut), higher_warm_up)
        cut = dataclasses.replace(cut, higher=cut.higher.tail(count))
    decision = evaluate(c.strategy, IndicatorCache(cut), c.params).last()
    if decision is None or abs(decision.side) != 1:
        return None
    return candle_signal_id(
        strategy_id=c.strategy.id,
        strategy_version=strategy_version(c.strategy, c.params),
        market=spec().market,
        symbol=SYMBOL,
        timeframe=BASE.value,
        candle_open_time=int(cut.open_time[-1]),
        action=decision.side.action,
    )


@pytest.mark.parametrize("strategy_id", [s.id for s in CATALOGUE])
def test_backtest_signal_ids_match_the_live_path(strategy_id: str) -> None:
    c = chosen(strategy_id)
    found = decisions(c, history(), {})
    assert found.skipped is None
    ids = dict(zip(found.rows.tolist(), signal_ids(found, c, history(), spec()), strict=True))
    assert all(row >= FIRST for row in ids)
    rng = np.random.default_rng(len(strategy_id))
    fired = sorted(ids)[:: max(1, len(ids) // FIRED_SAMPLES)][:FIRED_SAMPLES]
    quiet = rng.integers(FIRST, ROWS, QUIET_SAMPLES).tolist()
    if strategy_id != "bollinger_squeeze_alert":
        assert fired, "a trading strategy with no signal proves nothing"
    for t in sorted({*fired, *quiet, FIRST, ROWS - 1}):
        assert live_id(c, t) == ids.get(t), f"{strategy_id} at row {t}"


def test_backtest_signals_are_the_contract_signals_with_the_same_ids() -> None:
    picked = [chosen(s) for s in ("momentum_pulse", "doji_reversal", "bollinger_squeeze_alert")]
    source = MemoryCandles({
        (SYMBOL, BASE): dataclasses.replace(window(), higher=None, relative_strength=None),
    })  # fmt: skip
    got = asyncio.run(backtest_signals(source, picked, spec()))
    expected: set[str] = set()
    for c in picked:
        expected.update(signal_ids(decisions(c, history(), {}), c, history(), spec()))
    assert {s.signal_id for s in got} == expected
    assert len(got) == len(expected) > 0
    assert {s.strategy_id for s in got} == {"momentum_pulse", "doji_reversal"}
    assert [s.timestamp for s in got] == sorted(s.timestamp for s in got)
    first = got[0]
    assert first.stop_loss is not None
    assert first.take_profit is not None
    assert first.market == "futures"


def test_a_gap_restarts_the_warm_up_as_live_would() -> None:
    c = chosen("doji_reversal")
    whole = window()
    cut = 3_000
    step = whole.step_ms
    shifted = dataclasses.replace(
        whole, open_time=np.concatenate((whole.open_time[:cut], whole.open_time[cut:] + step))
    )
    gapped = with_history(shifted, SYMBOL, FIRST)
    found = decisions(c, gapped, {})
    needed = c.strategy.rows_needed(c.params)
    rows = found.rows
    assert not np.any((rows >= cut) & (rows < cut + needed - 1))
    after = decisions(c, with_history(shifted.rows(cut), SYMBOL, 0), {})
    np.testing.assert_array_equal(rows[rows >= cut], after.rows + cut)
    assert np.any(rows >= cut + needed)
