"""Candle patterns (STRATEGIES.md 3.5), as defined in 2.4."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydantic import Field

from petrosa.tabot import indicators as ind
from petrosa.tabot.candles import Anatomy, is_doji, is_hammer, is_shooting_star
from petrosa.tabot.indicators import IndicatorView
from petrosa.tabot.series import count_of, lag, ratio
from petrosa.tabot.strategy import Reads, Setup, Side, Strategy, StrategyParams, reward_target
from petrosa.tabot.window import CandleWindow

BUY, SELL = Side.BUY, Side.SELL


class _ShadowParams(StrategyParams):
    shadow_ratio: float = Field(2.5, gt=0, description="long shadow ≥ ratio · body")
    other_shadow_ratio: float = Field(0.2, ge=0, description="other shadow ≤ ratio · body")


# 25. hammer_reversal_pattern -----------------------------------------------------------


class HammerParams(_ShadowParams):
    context_candles: int = Field(4, ge=1, description="c < c[k] for k = 1…n")
    context_min: int = Field(2, ge=0, description="a downtrend: at least this many")
    reward_multiple: float = Field(2.0, gt=0)
    base_confidence: float = 0.68
    context_weight: float = 0.08
    shadow_weight: float = 0.10
    shadow_scale: float = 5.0
    share_weight: float = 0.08
    clean_weight: float = 0.06
    clean_scale: float = 5.0
    max_confidence: float = 0.88


def _hammer_reads(p: HammerParams) -> Reads:
    return Reads({}, price_depth=p.context_candles)


def _hammer(c: CandleWindow, i: IndicatorView, p: HammerParams) -> Mapping[Side, Setup]:
    close, a = c.close, Anatomy.of(c)
    condition = is_hammer(a, p.shadow_ratio, p.other_shadow_ratio)
    lower = count_of([close < lag(close, k) for k in range(1, p.context_candles + 1)])
    context = lower >= p.context_min
    confidence = np.minimum(
        p.max_confidence,
        p.base_confidence
        + p.context_weight * context
        + p.shadow_weight * np.minimum(1, ratio(a.lower_shadow, p.shadow_scale * a.body))
        + p.share_weight * ratio(a.lower_shadow, a.rng)
        + p.clean_weight * np.maximum(0, 1 - p.clean_scale * ratio(a.upper_shadow, a.body)),
    )
    return {
        BUY: Setup(
            condition, confidence, c.low, reward_target(close, c.low, p.reward_multiple, BUY)
        )
    }


HAMMER_REVERSAL_PATTERN = Strategy(
    id="hammer_reversal_pattern",
    version=1,
    sides=(BUY,),
    params_type=HammerParams,
    reads=_hammer_reads,
    rule=_hammer,
    summary="A hammer, stronger after lower closes",
)


# 26. shooting_star_reversal ------------------------------------------------------------


class ShootingStarParams(_ShadowParams):
    trend_sma: int = Field(20, ge=1, description="bonus when c > SMA(n)")
    reward_multiple: float = Field(1.5, gt=0)
    base_confidence: float = 0.50
    shadow_weight: float = 0.25
    shadow_scale: float = 5.0
    max_shape_confidence: float = 0.75
    trend_bonus: float = 0.10
    max_confidence: float = 0.80


def _shooting_star_reads(p: ShootingStarParams) -> Reads:
    return Reads({ind.sma(p.trend_sma): 0})


def _shooting_star(
    c: CandleWindow, i: IndicatorView, p: ShootingStarParams
) -> Mapping[Side, Setup]:
    close, a = c.close, Anatomy.of(c)
    condition = is_shooting_star(a, p.shadow_ratio, p.other_shadow_ratio)
    shape = np.minimum(
        p.max_shape_confidence,
        p.base_confidence
        + p.shadow_weight * np.minimum(1, ratio(a.upper_shadow, p.shadow_scale * a.body)),
    )
    extended = close > i[ind.sma(p.trend_sma)]
    confidence = np.minimum(p.max_confidence, shape + p.trend_bonus * extended)
    return {
        SELL: Setup(
            condition, confidence, c.high, reward_target(close, c.high, p.reward_multiple, SELL)
        )
    }


SHOOTING_STAR_REVERSAL = Strategy(
    id="shooting_star_reversal",
    version=1,
    sides=(SELL,),
    params_type=ShootingStarParams,
    reads=_shooting_star_reads,
    rule=_shooting_star,
    summary="A shooting star, stronger above SMA20",
)


# 27. doji_reversal ---------------------------------------------------------------------


class DojiParams(StrategyParams):
    body_ratio: float = Field(0.05, gt=0, description="body ≤ ratio · rng")
    mean_sma: int = Field(10, ge=1, description="fade the side of SMA(n) the close is on")
    reward_multiple: float = Field(1.2, gt=0)
    base_confidence: float = 0.40
    clean_weight: float = 0.20
    stretch_weight: float = 10.0
    max_stretch_bonus: float = 0.20
    max_confidence: float = 0.70


def _doji_reads(p: DojiParams) -> Reads:
    return Reads({ind.sma(p.mean_sma): 0})


def _doji(c: CandleWindow, i: IndicatorView, p: DojiParams) -> Mapping[Side, Setup]:
    close, a, mean = c.close, Anatomy.of(c), i[ind.sma(p.mean_sma)]
    doji = is_doji(a, p.body_ratio)
    confidence = np.minimum(
        p.max_confidence,
        p.base_confidence
        + p.clean_weight * (1 - ratio(a.body, p.body_ratio * a.rng))
        + np.minimum(p.max_stretch_bonus, p.stretch_weight * np.abs(close - mean) / close),
    )
    return {
        BUY: Setup(
            doji & (close < mean), confidence, c.low,
            reward_target(close, c.low, p.reward_multiple, BUY),
        ),
        SELL: Setup(
            doji & (close > mean), confidence, c.high,
            reward_target(close, c.high, p.reward_multiple, SELL),
        ),
    }  # fmt: skip


DOJI_REVERSAL = Strategy(
    id="doji_reversal",
    version=1,
    sides=(BUY, SELL),
    params_type=DojiParams,
    reads=_doji_reads,
    rule=_doji,
    summary="A clean doji stretched away from SMA10, faded back towards it",
)

STRATEGIES = (HAMMER_REVERSAL_PATTERN, SHOOTING_STAR_REVERSAL, DOJI_REVERSAL)
