"""STRATEGIES.md 6 on a long synthetic random walk, for every strategy: more history gives
the same decisions (converged indicators), the decision at t is the same with the data cut
at t (no lookahead), and exactly W₀ + 1 + K rows suffice (honest warm-up)."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

import numpy as np
import pytest

from petrosa.contracts import Interval
from petrosa.tabot import CATALOGUE, higher_interval, higher_rows_needed, relative_strength
from petrosa.tabot.indicators import IndicatorCache
from petrosa.tabot.strategy import Evaluation, Strategy, evaluate
from petrosa.tabot.window import CandleWindow
from tests.unit.tabot.candles import random_walk, resample

ROWS = 6_000
BASE = Interval.M15
RELATIVE = 1e-6
CONFIDENCE_ABSOLUTE = 1e-5
"""Confidence is compared absolutely: bear_trap_sell divides by h − EMA80, which can be a
few ticks, so EMA80's converged 1e-8 relative error grows to ~1e-6 relative there."""


@cache
def history() -> CandleWindow:
    candles = random_walk(ROWS, seed=11, interval=BASE)
    benchmark = random_walk(ROWS, seed=12, interval=BASE)
    universe = {"ETHUSDT": candles, "BTCUSDT": benchmark}
    strength = relative_strength(universe, "ETHUSDT", passing_rank=70)
    return dataclasses.replace(
        candles, higher=resample(candles, higher_interval(BASE)), relative_strength=strength
    )


@cache
def shared_indicators() -> IndicatorCache:
    return IndicatorCache(history())


@cache
def full_run(strategy_id: str) -> Evaluation:
    return evaluate(_strategy(strategy_id), shared_indicators())


def _strategy(strategy_id: str) -> Strategy[Any]:
    return next(s for s in CATALOGUE if s.id == strategy_id)


IDS = [s.id for s in CATALOGUE]


@pytest.mark.parametrize("strategy_id", IDS)
def test_every_strategy_publishes_decisions_on_a_random_walk(strategy_id: str) -> None:
    assert len(full_run(strategy_id).rows()) >= 1


@pytest.mark.parametrize("strategy_id", IDS)
def test_more_history_gives_the_same_decisions(strategy_id: str) -> None:
    strategy = _strategy(strategy_id)
    full = full_run(strategy_id)
    start = 2 * strategy.warm_up()
    late = evaluate(strategy, IndicatorCache(history().rows(start)))
    compared = slice(start + late.first_row, None)
    _assert_same(full, compared, late, slice(late.first_row, None))


@pytest.mark.parametrize("strategy_id", IDS)
def test_exactly_the_needed_rows_decide_like_the_whole_history(strategy_id: str) -> None:
    strategy = _strategy(strategy_id)
    full = full_run(strategy_id)
    needed = strategy.rows_needed()
    fired = [int(t) for t in full.rows() if t >= 3 * strategy.warm_up()][:3]
    quiet = [ROWS - 1, ROWS - 500, 3 * strategy.warm_up() + 7]
    for t in fired + quiet:
        cut = _live_window(strategy, history().rows(t + 1 - needed, t + 1))
        result = evaluate(strategy, IndicatorCache(cut))
        assert len(cut) == needed
        _assert_same(full, slice(t, t + 1), result, slice(-1, None))
    with pytest.raises(ValueError, match="too_few_rows"):
        evaluate(strategy, IndicatorCache(history().rows(0, needed - 1)))


def _live_window(strategy: Strategy[Any], candles: CandleWindow) -> CandleWindow:
    """What the live runner fetches: also only as many higher-timeframe candles as needed."""
    higher_warm_up = strategy.higher_warm_up()
    if higher_warm_up is None or candles.higher is None:
        return candles
    count = higher_rows_needed(BASE, candles.higher.interval, len(candles), higher_warm_up)
    return dataclasses.replace(candles, higher=candles.higher.tail(count))


def _assert_same(a: Evaluation, rows_a: slice, b: Evaluation, rows_b: slice) -> None:
    np.testing.assert_array_equal(a.side[rows_a], b.side[rows_b])
    np.testing.assert_array_equal(a.rejection[rows_a], b.rejection[rows_b])
    for name in ("stop_loss", "take_profit"):
        np.testing.assert_allclose(
            getattr(a, name)[rows_a], getattr(b, name)[rows_b], rtol=RELATIVE, err_msg=name
        )
    np.testing.assert_allclose(
        a.confidence[rows_a], b.confidence[rows_b], rtol=0, atol=CONFIDENCE_ABSOLUTE
    )
