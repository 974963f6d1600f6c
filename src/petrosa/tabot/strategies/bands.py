"""Bands, oscillators and mean reversion (STRATEGIES.md 3.2)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydantic import Field

from petrosa.contracts import Interval
from petrosa.tabot import indicators as ind
from petrosa.tabot.indicators import IndicatorView
from petrosa.tabot.series import FloatArray, lag, lowest, window_min
from petrosa.tabot.strategy import Reads, Setup, Side, Strategy, StrategyParams, reward_target
from petrosa.tabot.window import CandleWindow

BUY, SELL, ALERT = Side.BUY, Side.SELL, Side.ALERT


def _full(rows: int, value: float) -> FloatArray:
    return np.full(rows, value, dtype=np.float64)


# 7. band_fade_reversal -----------------------------------------------------------------


class BandFadeParams(StrategyParams):
    band_tolerance: float = Field(1.01, gt=0, description="c ≤ tol · BB_LOWER")
    band_stop: float = Field(0.98, gt=0, lt=1, description="SL ≤ f · BB_LOWER")
    low_stop: float = Field(0.995, gt=0, lt=1, description="SL ≤ f · l")
    confidence: float = Field(0.72, ge=0, le=1)


def _band_fade_reads(p: BandFadeParams) -> Reads:
    return Reads({ind.BB_LOWER: 0, ind.BB_MIDDLE: 0}, price_depth=2)


def _band_fade(c: CandleWindow, i: IndicatorView, p: BandFadeParams) -> Mapping[Side, Setup]:
    close, lower, middle = c.close, i[ind.BB_LOWER], i[ind.BB_MIDDLE]
    previous = lag(close, 1)
    condition = (
        (close <= p.band_tolerance * lower)
        & (close < middle)
        & (previous < lag(close, 2))
        & (close > previous)
    )
    stop = np.minimum(p.band_stop * lower, p.low_stop * c.low)
    return {BUY: Setup(condition, _full(len(c), p.confidence), stop, middle)}


BAND_FADE_REVERSAL = Strategy(
    id="band_fade_reversal",
    version=1,
    sides=(BUY,),
    params_type=BandFadeParams,
    reads=_band_fade_reads,
    rule=_band_fade,
    summary="The first up-close at the lower Bollinger band, targeting the middle band",
)


# 8. mean_reversion_scalper -------------------------------------------------------------


class MeanReversionParams(StrategyParams):
    min_deviation: float = Field(0.02, gt=0, description="|c − EMA21| / EMA21")
    rsi_oversold: float = 30
    rsi_overbought: float = 70
    band_stop: float = Field(0.015, ge=0, description="SL beyond the band by this fraction")
    candle_stop: float = Field(0.005, ge=0, description="SL beyond l (h) by this fraction")
    base_confidence: float = 0.70
    bonus: float = 0.05
    deviation_steps: tuple[float, ...] = (0.03, 0.04)
    max_confidence: float = 0.90


def _mean_reversion_reads(p: MeanReversionParams) -> Reads:
    return Reads({ind.ema(21): 0, ind.rsi(14): 0, ind.BB_LOWER: 0, ind.BB_UPPER: 0}, price_depth=2)


def _mean_reversion(
    c: CandleWindow, i: IndicatorView, p: MeanReversionParams
) -> Mapping[Side, Setup]:
    close, mean, rsi = c.close, i[ind.ema(21)], i[ind.rsi(14)]
    lower, upper = i[ind.BB_LOWER], i[ind.BB_UPPER]
    deviation = (close - mean) / mean
    buy = (deviation <= -p.min_deviation) & (rsi < p.rsi_oversold) & (close < lower)
    sell = (deviation >= p.min_deviation) & (rsi > p.rsi_overbought) & (close > upper)
    stretch = sum((np.abs(deviation) > step) * p.bonus for step in p.deviation_steps)
    previous, before = lag(close, 1), lag(close, 2)
    climbing = (close > previous) & (previous > before)
    sliding = (close < previous) & (previous < before)

    def confidence(turning: np.ndarray[tuple[int], np.dtype[np.bool_]]) -> FloatArray:
        raw = p.base_confidence + p.bonus * turning + stretch
        return np.minimum(p.max_confidence, raw)

    buy_stop = np.minimum((1 - p.band_stop) * lower, (1 - p.candle_stop) * c.low)
    sell_stop = np.maximum((1 + p.band_stop) * upper, (1 + p.candle_stop) * c.high)
    return {
        BUY: Setup(buy, confidence(climbing), buy_stop, mean),
        SELL: Setup(sell, confidence(sliding), sell_stop, mean),
    }


MEAN_REVERSION_SCALPER = Strategy(
    id="mean_reversion_scalper",
    version=1,
    sides=(BUY, SELL),
    params_type=MeanReversionParams,
    reads=_mean_reversion_reads,
    rule=_mean_reversion,
    summary="A 2 % stretch from EMA21 outside the bands with RSI extreme, targeting EMA21",
)


# 9. bollinger_breakout_signals ---------------------------------------------------------


class BollingerBreakoutParams(StrategyParams):
    band_stop: float = Field(0.02, ge=0, description="SL beyond the band by this fraction")
    candle_stop: float = Field(0.005, ge=0, description="SL beyond l (h) by this fraction")
    base_confidence: float = 0.68
    excursion_weight: float = 50.0
    max_excursion_bonus: float = 0.12


def _bollinger_breakout_reads(p: BollingerBreakoutParams) -> Reads:
    return Reads({ind.BB_LOWER: 0, ind.BB_MIDDLE: 0, ind.BB_UPPER: 0})


def _bollinger_breakout(
    c: CandleWindow, i: IndicatorView, p: BollingerBreakoutParams
) -> Mapping[Side, Setup]:
    close = c.close
    lower, middle, upper = i[ind.BB_LOWER], i[ind.BB_MIDDLE], i[ind.BB_UPPER]

    def confidence(excursion: FloatArray) -> FloatArray:
        bonus = np.minimum(p.max_excursion_bonus, p.excursion_weight * excursion)
        return p.base_confidence + bonus

    return {
        BUY: Setup(
            close < lower,
            confidence((lower - close) / lower),
            np.minimum((1 - p.band_stop) * lower, (1 - p.candle_stop) * c.low),
            middle,
        ),
        SELL: Setup(
            close > upper,
            confidence((close - upper) / upper),
            np.maximum((1 + p.band_stop) * upper, (1 + p.candle_stop) * c.high),
            middle,
        ),
    }


BOLLINGER_BREAKOUT_SIGNALS = Strategy(
    id="bollinger_breakout_signals",
    version=1,
    sides=(BUY, SELL),
    params_type=BollingerBreakoutParams,
    reads=_bollinger_breakout_reads,
    rule=_bollinger_breakout,
    summary="Fades a close outside the Bollinger bands back to the middle band",
)


# 10. bollinger_squeeze_alert -----------------------------------------------------------


class BollingerSqueezeParams(StrategyParams):
    max_bandwidth: float = Field(0.10, gt=0, description="BW below this")
    lookback: int = Field(120, ge=1, description="and the narrowest of this many candles")
    base_confidence: float = 0.65
    squeeze_weight: float = 0.15


def _bollinger_squeeze_reads(p: BollingerSqueezeParams) -> Reads:
    return Reads({ind.BW: p.lookback})


def _bollinger_squeeze(
    c: CandleWindow, i: IndicatorView, p: BollingerSqueezeParams
) -> Mapping[Side, Setup]:
    bandwidth = i[ind.BW]
    narrowest = window_min(lag(bandwidth, 1), p.lookback)
    condition = (bandwidth < p.max_bandwidth) & (bandwidth <= narrowest)
    confidence = p.base_confidence + p.squeeze_weight * (1 - bandwidth / p.max_bandwidth)
    return {ALERT: Setup(condition, confidence)}


BOLLINGER_SQUEEZE_ALERT = Strategy(
    id="bollinger_squeeze_alert",
    version=1,
    sides=(ALERT,),
    params_type=BollingerSqueezeParams,
    reads=_bollinger_squeeze_reads,
    rule=_bollinger_squeeze,
    summary="Alert only: the narrowest Bollinger bandwidth of 120 candles, under 10 %",
)


# 11. rsi_extreme_reversal --------------------------------------------------------------

_SHORT_TIMEFRAMES = frozenset({Interval.M1, Interval.M3, Interval.M5})


class RsiExtremeParams(StrategyParams):
    timeframes: tuple[Interval, ...] | None = tuple(
        interval for interval in Interval if interval not in _SHORT_TIMEFRAMES
    )
    rsi_trigger: float = Field(25, description="RSI2 below this")
    rsi_deep: float = Field(2, description="RSI2 below this: the higher base")
    stop_lookback: int = Field(5, ge=1)
    stop_factor: float = Field(0.99, gt=0, lt=1, description="SL ≤ f · c")
    reward_multiple: float = Field(2.0, gt=0)
    min_risk_fraction: float = Field(0.005, ge=0, description="TP uses R ≥ this · c")
    deep_confidence: float = 0.82
    base_confidence: float = 0.72
    rise_weight: float = 0.02
    max_rise_bonus: float = 0.08
    fall_threshold: float = 2.0
    fall_penalty: float = 0.05
    min_confidence_clamp: float = 0.55
    max_confidence: float = 0.90


def _rsi_extreme_reads(p: RsiExtremeParams) -> Reads:
    return Reads({ind.rsi(2): 1}, price_depth=p.stop_lookback - 1)


def _rsi_extreme(c: CandleWindow, i: IndicatorView, p: RsiExtremeParams) -> Mapping[Side, Setup]:
    close, rsi = c.close, i[ind.rsi(2)]
    stop = np.minimum(lowest(c.low, p.stop_lookback, 0), p.stop_factor * close)
    risk = np.maximum(close - stop, p.min_risk_fraction * close)
    change = rsi - lag(rsi, 1)
    confidence = (
        np.where(rsi < p.rsi_deep, p.deep_confidence, p.base_confidence)
        + np.where(change > 0, np.minimum(p.max_rise_bonus, p.rise_weight * change), 0.0)
        - np.where(change < -p.fall_threshold, p.fall_penalty, 0.0)
    )
    confidence = np.clip(confidence, p.min_confidence_clamp, p.max_confidence)
    return {BUY: Setup(rsi < p.rsi_trigger, confidence, stop, close + p.reward_multiple * risk)}


RSI_EXTREME_REVERSAL = Strategy(
    id="rsi_extreme_reversal",
    version=1,
    sides=(BUY,),
    params_type=RsiExtremeParams,
    reads=_rsi_extreme_reads,
    rule=_rsi_extreme,
    summary="RSI2 under 25 on 15m and longer",
)


# 12. divergence_trap -------------------------------------------------------------------


class DivergenceTrapParams(StrategyParams):
    span: int = Field(4, ge=1, description="compare with the candle this many back")
    rsi_oversold: float = 30
    stop_lookback: int = Field(10, ge=1)
    stop_factor: float = Field(0.99, gt=0, lt=1)
    reward_multiple: float = Field(2.0, gt=0)
    confidence: float = Field(0.66, ge=0, le=1)


def _divergence_trap_reads(p: DivergenceTrapParams) -> Reads:
    return Reads({ind.rsi(14): p.span}, price_depth=max(p.span, p.stop_lookback - 1))


def _divergence_trap(
    c: CandleWindow, i: IndicatorView, p: DivergenceTrapParams
) -> Mapping[Side, Setup]:
    close, rsi = c.close, i[ind.rsi(14)]
    condition = (
        (c.low < lag(c.low, p.span))
        & (rsi > lag(rsi, p.span))
        & (rsi < p.rsi_oversold)
        & (close > lag(close, 1))
    )
    stop = p.stop_factor * lowest(c.low, p.stop_lookback, 0)
    return {
        BUY: Setup(
            condition,
            _full(len(c), p.confidence),
            stop,
            reward_target(close, stop, p.reward_multiple, BUY),
        )
    }


DIVERGENCE_TRAP = Strategy(
    id="divergence_trap",
    version=1,
    sides=(BUY,),
    params_type=DivergenceTrapParams,
    reads=_divergence_trap_reads,
    rule=_divergence_trap,
    summary="A lower low with a higher RSI14 under 30 (regular bullish divergence)",
)

STRATEGIES = (
    BAND_FADE_REVERSAL,
    MEAN_REVERSION_SCALPER,
    BOLLINGER_BREAKOUT_SIGNALS,
    BOLLINGER_SQUEEZE_ALERT,
    RSI_EXTREME_REVERSAL,
    DIVERGENCE_TRAP,
)
