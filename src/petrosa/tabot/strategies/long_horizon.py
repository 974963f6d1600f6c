"""Long horizon (STRATEGIES.md 3.6): Minervini's trend template on daily candles."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydantic import Field

from petrosa.contracts import Interval
from petrosa.tabot import indicators as ind
from petrosa.tabot.indicators import IndicatorView
from petrosa.tabot.relative_strength import DEFAULT_HORIZONS, DEFAULT_WEIGHTS
from petrosa.tabot.series import lag, ratio, window_max, window_min
from petrosa.tabot.strategy import Reads, Setup, Side, Strategy, StrategyParams
from petrosa.tabot.window import CandleWindow

BUY = Side.BUY


class MinerviniParams(StrategyParams):
    timeframes: tuple[Interval, ...] | None = (Interval.D1,)
    year: int = Field(365, ge=2, description="daily candles in a year (crypto trades daily)")
    fast_sma: int = Field(50, ge=1)
    middle_sma: int = Field(150, ge=1)
    slow_sma: int = Field(200, ge=1)
    slope_lookback: int = Field(30, ge=1, description="SMA200 > SMA200[n]")
    above_low: float = Field(1.30, description="c ≥ this · the year's low")
    near_high: float = Field(0.75, description="c ≥ this · the year's high")
    rs_min: float = Field(70, ge=0, le=100)
    rs_universe: tuple[str, ...] | None = Field(
        None, description="symbols RS ranks among; None: the service's symbols"
    )
    min_rs_universe: int = Field(10, ge=2, description="fewer: compare with the benchmark")
    rs_benchmark: str = "BTCUSDT"
    rs_horizons: tuple[int, ...] = DEFAULT_HORIZONS
    rs_weights: tuple[float, ...] = DEFAULT_WEIGHTS
    stop_atr: float = Field(2.0, gt=0)
    target_atr: float = Field(4.0, gt=0)
    base_confidence: float = 0.80
    rs_weight: float = 0.05
    range_weight: float = 0.05
    max_confidence: float = 0.90


def _minervini_reads(p: MinerviniParams) -> Reads:
    return Reads(
        {
            ind.sma(p.fast_sma): 0,
            ind.sma(p.middle_sma): 0,
            ind.sma(p.slow_sma): p.slope_lookback,
            ind.atr(14): 0,
        },
        price_depth=max(p.year - 1, *p.rs_horizons),
    )


def _minervini(c: CandleWindow, i: IndicatorView, p: MinerviniParams) -> Mapping[Side, Setup]:
    assert c.relative_strength is not None  # evaluate() checks it
    close, rs, atr = c.close, c.relative_strength, i[ind.atr(14)]
    fast, middle, slow = i[ind.sma(p.fast_sma)], i[ind.sma(p.middle_sma)], i[ind.sma(p.slow_sma)]
    year_low, year_high = window_min(close, p.year), window_max(close, p.year)
    condition = (
        (close > fast) & (fast > middle) & (middle > slow)
        & (slow > lag(slow, p.slope_lookback))
        & (close >= p.above_low * year_low) & (close >= p.near_high * year_high)
        & (rs >= p.rs_min)
    )  # fmt: skip
    confidence = np.minimum(
        p.max_confidence,
        p.base_confidence
        + p.rs_weight * np.minimum(1, (rs - p.rs_min) / (100 - p.rs_min))
        + p.range_weight * ratio(close - year_low, year_high - year_low),
    )
    return {BUY: Setup(condition, confidence, close - p.stop_atr * atr, close + p.target_atr * atr)}


MINERVINI_TREND_TEMPLATE = Strategy(
    id="minervini_trend_template",
    version=1,
    sides=(BUY,),
    params_type=MinerviniParams,
    reads=_minervini_reads,
    rule=_minervini,
    summary="Stage-2 uptrend on daily candles: SMA50 > 150 > 200 rising, near highs, RS ≥ 70",
    needs_relative_strength=True,
)

STRATEGIES = (MINERVINI_TREND_TEMPLATE,)
