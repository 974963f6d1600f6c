"""Candle anatomy and the pattern definitions of STRATEGIES.md 2.4 (ratios, not TA-Lib's
CDL functions, which compare with recent candles' averages)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from petrosa.tabot.series import lag
from petrosa.tabot.window import CandleWindow

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Anatomy:
    """body = |c − o|, rng = h − l, us = upper shadow, ls = lower shadow."""

    body: FloatArray
    rng: FloatArray
    upper_shadow: FloatArray
    lower_shadow: FloatArray

    @classmethod
    def of(cls, candles: CandleWindow) -> Anatomy:
        o, h, low, c = candles.open, candles.high, candles.low, candles.close
        return cls(
            body=np.abs(c - o),
            rng=h - low,
            upper_shadow=h - np.maximum(o, c),
            lower_shadow=np.minimum(o, c) - low,
        )


def is_hammer(a: Anatomy, shadow_ratio: float = 2.5, other_ratio: float = 0.2) -> BoolArray:
    """rng > 0, body > 0, ls ≥ 2.5·body, us ≤ body/5."""
    return (
        (a.rng > 0)
        & (a.body > 0)
        & (a.lower_shadow >= shadow_ratio * a.body)
        & (a.upper_shadow <= other_ratio * a.body)
    )


def is_shooting_star(a: Anatomy, shadow_ratio: float = 2.5, other_ratio: float = 0.2) -> BoolArray:
    """rng > 0, body > 0, us ≥ 2.5·body, ls ≤ body/5."""
    return (
        (a.rng > 0)
        & (a.body > 0)
        & (a.upper_shadow >= shadow_ratio * a.body)
        & (a.lower_shadow <= other_ratio * a.body)
    )


def is_doji(a: Anatomy, body_ratio: float = 0.05) -> BoolArray:
    """rng > 0, body ≤ 0.05·rng."""
    return (a.rng > 0) & (a.body <= body_ratio * a.rng)


def is_inside_bar(candles: CandleWindow) -> BoolArray:
    """h < h[1] and l > l[1]."""
    return (candles.high < lag(candles.high, 1)) & (candles.low > lag(candles.low, 1))
