"""EMA setups (STRATEGIES.md 3.4): the EMA8/EMA80 family, EMA9/20/30 pullbacks and the
EMA9 slope turns."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydantic import Field

from petrosa.tabot import indicators as ind
from petrosa.tabot.candles import is_inside_bar
from petrosa.tabot.indicators import IndicatorView
from petrosa.tabot.series import (
    BoolArray,
    FloatArray,
    all_of,
    any_of,
    count_of,
    falling,
    lag,
    rising,
)
from petrosa.tabot.strategy import Reads, Setup, Side, Strategy, StrategyParams, reward_target
from petrosa.tabot.window import CandleWindow

BUY, SELL = Side.BUY, Side.SELL
FAST, SLOW = ind.ema(8), ind.ema(80)


def _above_for(values: FloatArray, line: FloatArray, candles: int) -> BoolArray:
    """values[k] > line[k] for every k = 0 … candles − 1."""
    return all_of([lag(values, k) > lag(line, k) for k in range(candles)])


def _below_for(values: FloatArray, line: FloatArray, candles: int) -> BoolArray:
    return all_of([lag(values, k) < lag(line, k) for k in range(candles)])


# 15. ema_alignment_bullish -------------------------------------------------------------


class EmaAlignmentBullishParams(StrategyParams):
    slope_candles: int = Field(2, ge=1, description="rising(EMA, m)")
    reward_multiple: float = Field(2.5, gt=0)
    base_confidence: float = 0.74
    spread_weight: float = 10.0
    max_spread_bonus: float = 0.10
    lead_weight: float = 20.0
    max_lead_bonus: float = 0.05
    max_confidence: float = 0.95


def _ema_alignment_bullish_reads(p: EmaAlignmentBullishParams) -> Reads:
    return Reads({FAST: p.slope_candles, SLOW: p.slope_candles})


def _ema_alignment_bullish(
    c: CandleWindow, i: IndicatorView, p: EmaAlignmentBullishParams
) -> Mapping[Side, Setup]:
    close, fast, slow = c.close, i[FAST], i[SLOW]
    condition = (
        (close > fast) & (fast > slow)
        & rising(fast, p.slope_candles) & rising(slow, p.slope_candles)
    )  # fmt: skip
    confidence = np.minimum(
        p.max_confidence,
        p.base_confidence
        + np.minimum(p.max_spread_bonus, p.spread_weight * (fast - slow) / slow)
        + np.minimum(p.max_lead_bonus, p.lead_weight * (close - fast) / fast),
    )
    return {
        BUY: Setup(condition, confidence, slow, reward_target(close, slow, p.reward_multiple, BUY))
    }


EMA_ALIGNMENT_BULLISH = Strategy(
    id="ema_alignment_bullish",
    version=1,
    sides=(BUY,),
    params_type=EmaAlignmentBullishParams,
    reads=_ema_alignment_bullish_reads,
    rule=_ema_alignment_bullish,
    summary="Close above a rising EMA8 above a rising EMA80",
)


# 16. ema_alignment_bearish -------------------------------------------------------------


class EmaAlignmentBearishParams(StrategyParams):
    slope_candles: int = Field(2, ge=1, description="falling(EMA, m)")
    reward_multiple: float = Field(1.5, gt=0)
    base_confidence: float = 0.60
    fast_weight: float = 10.0
    slow_weight: float = 5.0
    slope_weight: float = 20.0
    max_confidence: float = 0.85


def _ema_alignment_bearish_reads(p: EmaAlignmentBearishParams) -> Reads:
    return Reads({FAST: p.slope_candles, SLOW: p.slope_candles})


def _ema_alignment_bearish(
    c: CandleWindow, i: IndicatorView, p: EmaAlignmentBearishParams
) -> Mapping[Side, Setup]:
    close, fast, slow = c.close, i[FAST], i[SLOW]
    condition = (
        (close < fast) & (close < slow)
        & falling(fast, p.slope_candles) & falling(slow, p.slope_candles)
    )  # fmt: skip
    slope = np.abs(fast - lag(fast, 1)) + np.abs(slow - lag(slow, 1))
    confidence = np.minimum(
        p.max_confidence,
        p.base_confidence
        + p.fast_weight * (fast - close) / close
        + p.slow_weight * (slow - close) / close
        + p.slope_weight * slope / close,
    )
    stop = np.maximum(fast, c.high)
    return {
        SELL: Setup(
            condition, confidence, stop, reward_target(close, stop, p.reward_multiple, SELL)
        )
    }


EMA_ALIGNMENT_BEARISH = Strategy(
    id="ema_alignment_bearish",
    version=1,
    sides=(SELL,),
    params_type=EmaAlignmentBearishParams,
    reads=_ema_alignment_bearish_reads,
    rule=_ema_alignment_bearish,
    summary="Close below a falling EMA8 and a falling EMA80",
)


# 17. inside_bar_breakout ---------------------------------------------------------------


class InsideBarBreakoutParams(StrategyParams):
    above_candles: int = Field(4, ge=1, description="c[k] > EMA8[k] for k = 0…n−1")
    slope_candles: int = Field(2, ge=1)
    reward_multiple: float = Field(2.0, gt=0)
    base_confidence: float = 0.76
    compression_weight: float = 0.10
    spread_weight: float = 5.0
    max_spread_bonus: float = 0.08
    max_confidence: float = 0.92


def _inside_bar_breakout_reads(p: InsideBarBreakoutParams) -> Reads:
    return Reads(
        {FAST: max(p.above_candles - 1, p.slope_candles), SLOW: p.slope_candles},
        price_depth=max(1, p.above_candles - 1),
    )


def _inside_bar_breakout(
    c: CandleWindow, i: IndicatorView, p: InsideBarBreakoutParams
) -> Mapping[Side, Setup]:
    close, fast, slow = c.close, i[FAST], i[SLOW]
    condition = (
        is_inside_bar(c)
        & (close > fast) & (fast > slow)
        & _above_for(close, fast, p.above_candles)
        & rising(fast, p.slope_candles) & rising(slow, p.slope_candles)
    )  # fmt: skip
    mother = lag(c.high, 1) - lag(c.low, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        compression = np.clip(1 - (c.high - c.low) / mother, 0, 1)
    confidence = np.minimum(
        p.max_confidence,
        p.base_confidence
        + p.compression_weight * compression
        + np.minimum(p.max_spread_bonus, p.spread_weight * (fast - slow) / slow),
    )
    return {
        BUY: Setup(
            condition, confidence, c.low, reward_target(close, c.low, p.reward_multiple, BUY)
        )
    }


INSIDE_BAR_BREAKOUT = Strategy(
    id="inside_bar_breakout",
    version=1,
    sides=(BUY,),
    params_type=InsideBarBreakoutParams,
    reads=_inside_bar_breakout_reads,
    rule=_inside_bar_breakout,
    summary="An inside bar in an EMA8 > EMA80 uptrend that closes above EMA8",
)


# 18. inside_bar_sell -------------------------------------------------------------------


class InsideBarSellParams(StrategyParams):
    reward_multiple: float = Field(2.0, gt=0)
    base_confidence: float = 0.55
    slow_weight: float = 10.0
    spread_weight: float = 5.0
    max_confidence: float = 0.80


def _inside_bar_sell_reads(p: InsideBarSellParams) -> Reads:
    return Reads({FAST: 0, SLOW: 0}, price_depth=1)


def _inside_bar_sell(
    c: CandleWindow, i: IndicatorView, p: InsideBarSellParams
) -> Mapping[Side, Setup]:
    close, fast, slow = c.close, i[FAST], i[SLOW]
    condition = is_inside_bar(c) & (close < fast) & (close < slow)
    confidence = np.minimum(
        p.max_confidence,
        p.base_confidence
        + p.slow_weight * (slow - close) / close
        + p.spread_weight * np.abs(fast - slow) / close,
    )
    return {
        SELL: Setup(
            condition, confidence, c.high, reward_target(close, c.high, p.reward_multiple, SELL)
        )
    }


INSIDE_BAR_SELL = Strategy(
    id="inside_bar_sell",
    version=1,
    sides=(SELL,),
    params_type=InsideBarSellParams,
    reads=_inside_bar_sell_reads,
    rule=_inside_bar_sell,
    summary="An inside bar closing below EMA8 and EMA80 (often under the confidence floor)",
)


# 19. fox_trap_reversal -----------------------------------------------------------------


class FoxTrapParams(StrategyParams):
    touch_tolerance: float = Field(0.02, ge=0, description="l ≤ (1 + tol)·EMA8")
    trend_candles: int = Field(6, ge=1, description="EMA8[k] vs EMA80[k] for k = 0…n−1")
    reward_multiple: float = Field(2.0, gt=0)
    base_confidence: float = 0.78
    spread_weight: float = 0.08
    spread_scale: float = 15.0
    middle_weight: float = 0.06
    middle_scale: float = 20.0
    touch_weight: float = 0.05
    touch_scale: float = 20.0
    max_confidence: float = 0.92


def _fox_trap_reads(p: FoxTrapParams) -> Reads:
    deepest = max(2, p.trend_candles - 1)
    return Reads({FAST: deepest, SLOW: p.trend_candles - 1, ind.ema(20): 0}, price_depth=2)


def _fox_trap(c: CandleWindow, i: IndicatorView, p: FoxTrapParams) -> Mapping[Side, Setup]:
    close, fast, slow, middle = c.close, i[FAST], i[SLOW], i[ind.ema(20)]
    poked_above = any_of([lag(c.high, k) > lag(fast, k) for k in (1, 2)])
    poked_below = any_of([lag(c.low, k) < lag(fast, k) for k in (1, 2)])
    buy = (
        (close > fast) & (fast > slow) & (fast > middle)
        & (c.low <= (1 + p.touch_tolerance) * fast)
        & poked_above & _above_for(fast, slow, p.trend_candles)
    )  # fmt: skip
    sell = (
        (close < fast) & (close < slow) & (fast < slow)
        & (c.high >= (1 - p.touch_tolerance) * fast)
        & poked_below & _below_for(fast, slow, p.trend_candles)
    )  # fmt: skip
    shared = (
        p.base_confidence
        + p.spread_weight * np.minimum(1, p.spread_scale * np.abs(fast - slow) / slow)
        + p.middle_weight * np.minimum(1, p.middle_scale * np.abs(fast - middle) / middle)
    )

    def confidence(extreme: FloatArray) -> FloatArray:
        gap = np.abs(extreme - fast) / fast
        touch = p.touch_weight * np.maximum(0, 1 - p.touch_scale * gap)
        return np.minimum(p.max_confidence, shared + touch)

    return {
        BUY: Setup(
            buy, confidence(c.low), c.low, reward_target(close, c.low, p.reward_multiple, BUY)
        ),
        SELL: Setup(
            sell, confidence(c.high), c.high,
            reward_target(close, c.high, p.reward_multiple, SELL),
        ),
    }  # fmt: skip


FOX_TRAP_REVERSAL = Strategy(
    id="fox_trap_reversal",
    version=1,
    sides=(BUY, SELL),
    params_type=FoxTrapParams,
    reads=_fox_trap_reads,
    rule=_fox_trap,
    summary="A dip to EMA8 that holds in an established EMA8/EMA80 trend (and its mirror)",
)


# 20./21. bear_trap_buy, bear_trap_sell -------------------------------------------------


class BearTrapParams(StrategyParams):
    hold_candles: int = Field(4, ge=1, description="c[k] beyond EMA80[k] for k = 0…n−1")
    reward_multiple: float = Field(2.0, gt=0)
    base_confidence: float = 0.60
    rejection_weight: float = 0.25
    max_confidence: float = 0.85


def _bear_trap_reads(p: BearTrapParams) -> Reads:
    return Reads({SLOW: p.hold_candles - 1}, price_depth=p.hold_candles - 1)


def _bear_trap_buy(c: CandleWindow, i: IndicatorView, p: BearTrapParams) -> Mapping[Side, Setup]:
    close, slow = c.close, i[SLOW]
    condition = (c.low < slow) & (slow < close) & _above_for(close, slow, p.hold_candles)
    with np.errstate(divide="ignore", invalid="ignore"):
        closing = (close - c.low) / (c.high - c.low)
    confidence = np.minimum(p.max_confidence, p.base_confidence + p.rejection_weight * closing)
    return {
        BUY: Setup(
            condition, confidence, c.low, reward_target(close, c.low, p.reward_multiple, BUY)
        )
    }


def _bear_trap_sell(c: CandleWindow, i: IndicatorView, p: BearTrapParams) -> Mapping[Side, Setup]:
    close, slow = c.close, i[SLOW]
    condition = (c.high > slow) & (slow > close) & _below_for(close, slow, p.hold_candles)
    with np.errstate(divide="ignore", invalid="ignore"):
        rejected = (slow - close) / (c.high - slow)
    confidence = np.minimum(p.max_confidence, p.base_confidence + p.rejection_weight * rejected)
    return {
        SELL: Setup(
            condition, confidence, c.high, reward_target(close, c.high, p.reward_multiple, SELL)
        )
    }


BEAR_TRAP_BUY = Strategy(
    id="bear_trap_buy",
    version=1,
    sides=(BUY,),
    params_type=BearTrapParams,
    reads=_bear_trap_reads,
    rule=_bear_trap_buy,
    summary="A wick below EMA80 that closes back above it, above it for 4 closes",
)
BEAR_TRAP_SELL = Strategy(
    id="bear_trap_sell",
    version=1,
    sides=(SELL,),
    params_type=BearTrapParams,
    reads=_bear_trap_reads,
    rule=_bear_trap_sell,
    summary="A wick above EMA80 that closes back below it, below it for 4 closes",
)


# 22. ema_pullback_continuation ---------------------------------------------------------


class EmaPullbackParams(StrategyParams):
    touch_tolerance: float = Field(0.01, ge=0, description="l ≤ (1 + tol)·EMA20")
    hold_candles: int = Field(4, ge=1, description="c[k] beyond EMA20[k] for k = 0…n−1")
    reward_multiple: float = Field(2.0, gt=0)
    base_confidence: float = 0.74
    spread_weight: float = 0.08
    spread_scale: float = 20.0
    closeness_weight: float = 0.06
    closeness_scale: float = 10.0
    max_confidence: float = 0.88


def _ema_pullback_reads(p: EmaPullbackParams) -> Reads:
    return Reads(
        {ind.ema(9): 0, ind.ema(20): p.hold_candles - 1, ind.ema(30): 0},
        price_depth=max(1, p.hold_candles - 1),
    )


def _ema_pullback(c: CandleWindow, i: IndicatorView, p: EmaPullbackParams) -> Mapping[Side, Setup]:
    close, e9, e20, e30 = c.close, i[ind.ema(9)], i[ind.ema(20)], i[ind.ema(30)]
    buy = (
        (e20 > e30) & (c.low <= (1 + p.touch_tolerance) * e20)
        & _above_for(close, e20, p.hold_candles)
    )  # fmt: skip
    sell = (
        (e9 < e20) & (c.high >= (1 - p.touch_tolerance) * e20) & (c.high > lag(c.high, 1))
        & _below_for(close, e20, p.hold_candles)
    )  # fmt: skip
    confidence = np.minimum(
        p.max_confidence,
        p.base_confidence
        + p.spread_weight * np.minimum(1, p.spread_scale * np.abs(e20 - e30) / e30)
        + p.closeness_weight * np.maximum(0, 1 - p.closeness_scale * np.abs(close - e20) / e20),
    )
    return {
        BUY: Setup(buy, confidence, c.low, reward_target(close, c.low, p.reward_multiple, BUY)),
        SELL: Setup(
            sell, confidence, c.high, reward_target(close, c.high, p.reward_multiple, SELL)
        ),
    }


EMA_PULLBACK_CONTINUATION = Strategy(
    id="ema_pullback_continuation",
    version=1,
    sides=(BUY, SELL),
    params_type=EmaPullbackParams,
    reads=_ema_pullback_reads,
    rule=_ema_pullback,
    summary="A touch of EMA20 that holds for four closes, EMA20/EMA30 (EMA9/EMA20) agreeing",
)


# 23. ema_momentum_reversal -------------------------------------------------------------


class EmaMomentumReversalParams(StrategyParams):
    turn_confidence: float = Field(0.76, description="9.1: EMA9 turns up, close above it")
    capitulation_confidence: float = Field(0.78, description="9.2: five candles at a falling EMA9")
    exhaustion_confidence: float = Field(0.74, description="9.3: falling closes at EMA9")
    higher_low_confidence: float = Field(0.80, description="9.4: a higher low as EMA9 turns")
    reward_multiple: float = Field(2.0, gt=0)
    slope_weight: float = 100.0
    max_slope_bonus: float = 0.05
    distance_weight: float = 10.0
    max_distance_penalty: float = 0.08
    min_confidence_clamp: float = 0.60
    max_confidence: float = 0.88


_SETUP_DEPTH = 6
"""9.4 reads l[k] ≤ EMA9[k] up to k = 6; slopes s[k] up to k = 4 read EMA9[5]."""


def _ema_momentum_reversal_reads(p: EmaMomentumReversalParams) -> Reads:
    return Reads({ind.ema(9): _SETUP_DEPTH}, price_depth=_SETUP_DEPTH)


def _ema_momentum_reversal(
    c: CandleWindow, i: IndicatorView, p: EmaMomentumReversalParams
) -> Mapping[Side, Setup]:
    close, low, e9 = c.close, c.low, i[ind.ema(9)]
    slope = e9 - lag(e9, 1)
    s = [lag(slope, k) for k in range(5)]
    touched = [lag(low, k) <= lag(e9, k) for k in range(7)]
    turned_up = (s[1] < 0) & (s[0] > 0)
    setups = [
        (turned_up & (close > e9), p.turn_confidence),
        (all_of([touched[k] & (s[k] <= 0) for k in range(5)]) & (close < lag(low, 1)),
         p.capitulation_confidence),
        (any_of(touched[0:3]) & (count_of([x < 0 for x in s]) >= 3)
         & (lag(close, 1) < lag(close, 2)) & (close < lag(close, 2)),
         p.exhaustion_confidence),
        (any_of(touched[2:7]) & (lag(close, 1) < lag(e9, 1)) & (low > lag(low, 1)) & turned_up,
         p.higher_low_confidence),
    ]  # fmt: skip
    base = np.select([condition for condition, _ in setups], [value for _, value in setups], 0.0)
    slope_bonus = np.where(s[0] > 0, np.minimum(p.max_slope_bonus, p.slope_weight * s[0] / e9), 0)
    distance = np.minimum(p.max_distance_penalty, p.distance_weight * np.abs(close - e9) / e9)
    confidence = np.clip(base + slope_bonus - distance, p.min_confidence_clamp, p.max_confidence)
    condition = any_of([condition for condition, _ in setups])
    return {
        BUY: Setup(condition, confidence, low, reward_target(close, low, p.reward_multiple, BUY))
    }


EMA_MOMENTUM_REVERSAL = Strategy(
    id="ema_momentum_reversal",
    version=1,
    sides=(BUY,),
    params_type=EmaMomentumReversalParams,
    reads=_ema_momentum_reversal_reads,
    rule=_ema_momentum_reversal,
    summary="EMA9 turning up, or selling exhausting at EMA9 (four setups, the first decides)",
)


# 24. ema_slope_reversal_sell -----------------------------------------------------------


class EmaSlopeReversalSellParams(StrategyParams):
    reward_multiple: float = Field(2.0, gt=0)
    base_confidence: float = 0.55
    turn_weight: float = 50.0
    distance_weight: float = 10.0
    max_confidence: float = 0.80


def _ema_slope_reversal_reads(p: EmaSlopeReversalSellParams) -> Reads:
    return Reads({ind.ema(9): 2})


def _ema_slope_reversal(
    c: CandleWindow, i: IndicatorView, p: EmaSlopeReversalSellParams
) -> Mapping[Side, Setup]:
    close, e9 = c.close, i[ind.ema(9)]
    slope = e9 - lag(e9, 1)
    previous = lag(slope, 1)
    condition = (previous > 0) & (slope < 0) & (close < e9)
    confidence = np.minimum(
        p.max_confidence,
        p.base_confidence
        + p.turn_weight * np.abs(slope - previous) / close
        + p.distance_weight * (e9 - close) / close,
    )
    return {
        SELL: Setup(
            condition, confidence, c.high, reward_target(close, c.high, p.reward_multiple, SELL)
        )
    }


EMA_SLOPE_REVERSAL_SELL = Strategy(
    id="ema_slope_reversal_sell",
    version=1,
    sides=(SELL,),
    params_type=EmaSlopeReversalSellParams,
    reads=_ema_slope_reversal_reads,
    rule=_ema_slope_reversal,
    summary="EMA9 turns down with the close below it",
)

STRATEGIES = (
    EMA_ALIGNMENT_BULLISH,
    EMA_ALIGNMENT_BEARISH,
    INSIDE_BAR_BREAKOUT,
    INSIDE_BAR_SELL,
    FOX_TRAP_REVERSAL,
    BEAR_TRAP_BUY,
    BEAR_TRAP_SELL,
    EMA_PULLBACK_CONTINUATION,
    EMA_MOMENTUM_REVERSAL,
    EMA_SLOPE_REVERSAL_SELL,
)
