"""The strategy framework: derived warm-up, edge triggering, cooldown, central validation
and the window checks, on small strategies built for each property."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from petrosa.contracts import Interval
from petrosa.tabot import CATALOGUE
from petrosa.tabot import indicators as ind
from petrosa.tabot.indicators import IndicatorCache, IndicatorView
from petrosa.tabot.strategy import (
    NotEvaluableError,
    Reads,
    Setup,
    Side,
    Strategy,
    StrategyParams,
    evaluate,
    reward_target,
)
from petrosa.tabot.validation import Rejection, StrategyContractError
from petrosa.tabot.window import CandleWindow
from tests.unit.tabot.candles import window


class LevelParams(StrategyParams):
    threshold: float = 100.0
    stop_offset: float = 1.0
    reward_multiple: float = 2.0
    confidence: float = 0.7


def _level_rule(c: CandleWindow, i: IndicatorView, p: LevelParams) -> Mapping[Side, Setup]:
    """Buy while the close is above a level: a condition that stays true for a while."""
    stop = c.close - p.stop_offset
    return {
        Side.BUY: Setup(
            c.close > p.threshold,
            np.full(len(c), p.confidence),
            stop,
            reward_target(c.close, stop, p.reward_multiple, Side.BUY),
        )
    }


LEVEL = Strategy(
    id="level",
    version=1,
    sides=(Side.BUY,),
    params_type=LevelParams,
    reads=lambda p: Reads({}),
    rule=_level_rule,
    summary="buys above a level",
)


def closes(values: list[float]) -> CandleWindow:
    close = np.asarray(values, dtype=np.float64)
    return window(Interval.M15, close, close + 0.5, close - 2, close, np.ones(len(close)))


def run(
    values: list[float], strategy: Strategy[LevelParams] = LEVEL, **params: float
) -> tuple[list[int], list[int]]:
    result = evaluate(strategy, IndicatorCache(closes(values)), strategy.params(params))
    return result.rows().tolist(), result.rejected_rows().tolist()


def test_a_condition_held_for_ten_candles_fires_once() -> None:
    assert run([90.0] * 8 + [101.0] * 10) == ([8], [])


def test_a_second_edge_inside_the_cooldown_is_silent_and_one_after_it_fires() -> None:
    values = [90.0] * 8 + [101, 90, 101, 90, 90, 90, 90, 90, 90, 101]
    # edges at 8, 10 (2 after 8: cooling) and 17 (7 after 10: free)
    assert run(values) == ([8, 17], [])
    assert run(values, cooldown_candles=0) == ([8, 10, 17], [])


def test_the_cooldown_counts_edges_not_published_signals() -> None:
    # 8 fires, 12 is refused (cooling), 16 is 4 after the edge at 12: still cooling
    values = [90.0] * 8 + [101, 90, 90, 90, 101, 90, 90, 90, 101]
    assert run(values, cooldown_candles=4) == ([8], [])


def test_rows_before_warm_up_plus_cooldown_are_not_evaluated() -> None:
    # W₀ = 1 here, K = 5: the first evaluated row is 6
    assert run([101.0] * 10) == ([], [])
    assert run([90.0] * 5 + [101.0] * 5) == ([], [])  # the edge at row 5 is too early


def test_a_stop_above_a_buys_price_is_a_contract_error_not_a_silent_drop() -> None:
    with pytest.raises(StrategyContractError, match="levels misplaced"):
        run([90.0] * 8 + [101.0], stop_offset=-1.0)


def test_a_confidence_above_one_is_a_contract_error() -> None:
    with pytest.raises(StrategyContractError, match="confidence"):
        run([90.0] * 8 + [101.0], confidence=1.2)


def test_a_reward_under_the_risk_is_refused_and_counted() -> None:
    result = evaluate(
        LEVEL, IndicatorCache(closes([90.0] * 8 + [101.0])), LEVEL.params({"reward_multiple": 0.5})
    )
    assert result.last() is None
    assert result.rejections() == {"reward_risk": 1}
    assert Rejection(int(result.rejection[-1])) is Rejection.REWARD_RISK


def test_bounds_are_per_strategy_parameters() -> None:
    params = LEVEL.params({"confidence": 0.5, "bounds": {"min_confidence": 0.4}})
    result = evaluate(LEVEL, IndicatorCache(closes([90.0] * 8 + [101.0])), params)
    assert result.last() is not None
    assert run([90.0] * 8 + [101.0], confidence=0.5) == ([], [8])


def test_a_stop_closer_than_the_minimum_distance_is_refused() -> None:
    assert run([90.0] * 8 + [101.0], stop_offset=0.05) == ([], [8])


def test_a_side_the_strategy_does_not_declare_is_a_contract_error() -> None:
    def sells(c: CandleWindow, i: IndicatorView, p: LevelParams) -> Mapping[Side, Setup]:
        return {Side.SELL: _level_rule(c, i, p)[Side.BUY]}

    broken = Strategy("broken", 1, (Side.BUY,), LevelParams, lambda p: Reads({}), sells, "")
    with pytest.raises(StrategyContractError, match="undeclared side sell"):
        run([90.0] * 8 + [101.0], broken)


def test_too_few_rows_or_a_gap_is_not_evaluated() -> None:
    with pytest.raises(NotEvaluableError) as short:
        evaluate(LEVEL, IndicatorCache(closes([90.0] * 6)))
    assert short.value.reason == "too_few_rows"
    candles = closes([90.0] * 10)
    gappy = CandleWindow.from_arrays(
        candles.interval,
        _with_gap(candles.open_time),
        candles.open, candles.high, candles.low, candles.close, candles.volume,
    )  # fmt: skip
    with pytest.raises(NotEvaluableError) as gap:
        evaluate(LEVEL, IndicatorCache(gappy))
    assert gap.value.reason == "gap"


def _with_gap(
    open_time: np.ndarray[tuple[int], np.dtype[np.int64]],
) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
    shifted = open_time.copy()
    shifted[5:] += 15 * 60_000
    return shifted


def test_warm_up_is_derived_from_the_deepest_read() -> None:
    assert Reads({ind.ema(80): 2}).warm_up() == 635
    assert Reads({ind.ema(8): 0}, price_depth=70).warm_up() == 71
    assert Reads({}).warm_up() == 1


SPECIFIED_WARM_UP = {
    "momentum_pulse": 396, "golden_trend_sync": 396, "multi_timeframe_trend_continuation": 1582,
    "ichimoku_cloud_momentum": 78, "volume_surge_breakout": 214, "range_break_pop": 202,
    "band_fade_reversal": 20, "mean_reversion_scalper": 202, "bollinger_breakout_signals": 20,
    "bollinger_squeeze_alert": 140, "rsi_extreme_reversal": 24, "divergence_trap": 206,
    "liquidity_grab_reversal": 206, "order_flow_imbalance": 202, "ema_alignment_bullish": 635,
    "ema_alignment_bearish": 635, "inside_bar_breakout": 635, "inside_bar_sell": 633,
    "fox_trap_reversal": 638, "bear_trap_buy": 636, "bear_trap_sell": 636,
    "ema_pullback_continuation": 238, "ema_momentum_reversal": 77, "ema_slope_reversal_sell": 73,
    "hammer_reversal_pattern": 5, "shooting_star_reversal": 20, "doji_reversal": 10,
    "minervini_trend_template": 365,
}  # fmt: skip


def test_the_catalogue_is_the_28_strategies_with_the_specified_warm_ups() -> None:
    assert [s.id for s in CATALOGUE] == list(SPECIFIED_WARM_UP)
    assert {s.id: s.warm_up() for s in CATALOGUE} == SPECIFIED_WARM_UP


def test_warm_up_follows_the_parameters() -> None:
    squeeze = next(s for s in CATALOGUE if s.id == "bollinger_squeeze_alert")
    assert squeeze.warm_up(squeeze.params({"lookback": 50})) == 70
    assert squeeze.rows_needed(squeeze.params({"cooldown_candles": 3})) == 144


def test_parameters_are_validated_and_frozen() -> None:
    pulse = CATALOGUE[0]
    with pytest.raises(ValueError, match="unknown"):
        pulse.params({"unknown": 1})
    with pytest.raises(ValueError, match="cooldown_candles"):
        pulse.params({"cooldown_candles": -1})
    with pytest.raises(ValueError, match="frozen"):
        pulse.defaults.rsi_min = 1


def test_timeframes_default_to_all_except_where_the_specification_restricts() -> None:
    by_id = {s.id: s for s in CATALOGUE}
    assert by_id["momentum_pulse"].runs_on(Interval.M1)
    assert not by_id["rsi_extreme_reversal"].runs_on(Interval.M5)
    assert by_id["rsi_extreme_reversal"].runs_on(Interval.M15)
    assert by_id["minervini_trend_template"].runs_on(Interval.D1)
    assert not by_id["minervini_trend_template"].runs_on(Interval.H4)
