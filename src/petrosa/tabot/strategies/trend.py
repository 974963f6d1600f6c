"""Trend and momentum strategies (STRATEGIES.md 3.1)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydantic import Field

from petrosa.contracts import Interval
from petrosa.tabot import indicators as ind
from petrosa.tabot.higher_timeframe import higher_interval
from petrosa.tabot.indicators import IndicatorView
from petrosa.tabot.series import (
    any_of,
    crossed_down,
    crossed_up,
    highest,
    lag,
    lowest,
    window_max,
    window_min,
)
from petrosa.tabot.strategy import Reads, Setup, Side, Strategy, StrategyParams, reward_target
from petrosa.tabot.window import CandleWindow, align_higher, take_aligned

BUY, SELL = Side.BUY, Side.SELL


def _full(rows: int, value: float) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    return np.full(rows, value, dtype=np.float64)


# 1. momentum_pulse ---------------------------------------------------------------------


class MomentumPulseParams(StrategyParams):
    fast_ema: int = Field(21, ge=2)
    slow_ema: int = Field(50, ge=2)
    rsi_min: float = 50
    rsi_max: float = 65
    adx_min: float = 20
    reward_multiple: float = Field(2.5, gt=0)
    confidence: float = Field(0.74, ge=0, le=1)


def _momentum_pulse_reads(p: MomentumPulseParams) -> Reads:
    return Reads(
        {
            ind.MACD_HIST: 1,
            ind.rsi(14): 0,
            ind.adx(14): 0,
            ind.ema(p.fast_ema): 0,
            ind.ema(p.slow_ema): 0,
        }
    )


def _momentum_pulse(
    c: CandleWindow, i: IndicatorView, p: MomentumPulseParams
) -> Mapping[Side, Setup]:
    close, rsi, slow = c.close, i[ind.rsi(14)], i[ind.ema(p.slow_ema)]
    condition = (
        crossed_up(i[ind.MACD_HIST], 0.0)
        & (rsi >= p.rsi_min)
        & (rsi <= p.rsi_max)
        & (i[ind.adx(14)] > p.adx_min)
        & (close > i[ind.ema(p.fast_ema)])
        & (close > slow)
    )
    return {
        BUY: Setup(
            condition,
            _full(len(c), p.confidence),
            slow,
            reward_target(close, slow, p.reward_multiple, BUY),
        )
    }


MOMENTUM_PULSE = Strategy(
    id="momentum_pulse",
    version=1,
    sides=(BUY,),
    params_type=MomentumPulseParams,
    reads=_momentum_pulse_reads,
    rule=_momentum_pulse,
    summary="MACD histogram turns positive in an ADX trend above EMA21/EMA50, RSI 50–65",
)


# 2. golden_trend_sync ------------------------------------------------------------------


class GoldenTrendSyncParams(StrategyParams):
    fast_ema: int = Field(21, ge=2)
    slow_ema: int = Field(50, ge=2)
    max_distance: float = Field(0.02, gt=0, description="|c − EMA21| / EMA21")
    reward_multiple: float = Field(2.0, gt=0)
    confidence: float = Field(0.70, ge=0, le=1)


def _golden_trend_sync_reads(p: GoldenTrendSyncParams) -> Reads:
    return Reads({ind.ema(p.fast_ema): 0, ind.ema(p.slow_ema): 0})


def _golden_trend_sync(
    c: CandleWindow, i: IndicatorView, p: GoldenTrendSyncParams
) -> Mapping[Side, Setup]:
    close, fast, slow = c.close, i[ind.ema(p.fast_ema)], i[ind.ema(p.slow_ema)]
    condition = (
        (fast > slow)
        & (np.abs(close - fast) <= p.max_distance * fast)
        & (close > c.open)
        & (close > slow)
    )
    return {
        BUY: Setup(
            condition,
            _full(len(c), p.confidence),
            slow,
            reward_target(close, slow, p.reward_multiple, BUY),
        )
    }


GOLDEN_TREND_SYNC = Strategy(
    id="golden_trend_sync",
    version=1,
    sides=(BUY,),
    params_type=GoldenTrendSyncParams,
    reads=_golden_trend_sync_reads,
    rule=_golden_trend_sync,
    summary="A rising candle within 2 % of EMA21 while EMA21 > EMA50",
)


# 3. multi_timeframe_trend_continuation -------------------------------------------------


class MultiTimeframeParams(StrategyParams):
    htf: Interval | None = Field(
        None, description="Higher timeframe; None: the smallest interval ≥ 4× the base"
    )
    pullback_candles: int = Field(5, ge=1, description="k = 0…n−1 for the pullback")
    pullback_rsi_buy: float = 45
    pullback_rsi_sell: float = 55
    max_distance: float = Field(0.01, gt=0, description="|c − EMA21| / EMA21")
    volume_ratio: float = Field(1.2, ge=0, description="v > ratio · VOL_SMA20")
    reward_multiple: float = Field(3.0, gt=0)
    base_confidence: float = 0.75
    adx_weight: float = 0.10
    max_confidence: float = 0.95


def _multi_timeframe_reads(p: MultiTimeframeParams) -> Reads:
    deepest = p.pullback_candles - 1
    return Reads(
        {
            ind.ema(21): deepest,
            ind.ema(50): 0,
            ind.ema(200): 0,
            ind.MACD: 1,
            ind.rsi(14): deepest,
            ind.volume_sma(20): 0,
            ind.adx(14): 0,
        },
        price_depth=deepest,
    )


def _multi_timeframe_higher_reads(p: MultiTimeframeParams) -> Reads:
    return Reads({ind.ema(21): 0, ind.ema(50): 0})


def _multi_timeframe(
    c: CandleWindow, i: IndicatorView, p: MultiTimeframeParams
) -> Mapping[Side, Setup]:
    # evaluate() provides both
    assert i.higher is not None
    assert c.higher is not None
    expected = p.htf or higher_interval(c.interval)
    if c.higher.interval != expected:
        raise ValueError(f"higher timeframe {c.higher.interval} given, {expected} expected")
    close, e21, e50, e200 = c.close, i[ind.ema(21)], i[ind.ema(50)], i[ind.ema(200)]
    macd, rsi = i[ind.MACD], i[ind.rsi(14)]
    n = p.pullback_candles
    near = np.abs(close - e21) < p.max_distance * e21
    volume = c.volume > p.volume_ratio * i[ind.volume_sma(20)]
    at = align_higher(c, c.higher)
    htf_close = take_aligned(c.higher.close, at)
    htf_e21 = take_aligned(i.higher[ind.ema(21)], at)
    htf_e50 = take_aligned(i.higher[ind.ema(50)], at)
    buy = (
        (e21 > e50) & (e50 > e200) & (close > e21) & (macd > 0)
        & any_of([lag(c.low, k) <= lag(e21, k) for k in range(n)])
        & (window_min(rsi, n) < p.pullback_rsi_buy)
        & near & (close > lag(close, 1)) & (macd > lag(macd, 1)) & volume
        & (htf_close > htf_e50) & (htf_e21 > htf_e50)
    )  # fmt: skip
    sell = (
        (e21 < e50) & (e50 < e200) & (close < e21) & (macd < 0)
        & any_of([lag(c.high, k) >= lag(e21, k) for k in range(n)])
        & (window_max(rsi, n) > p.pullback_rsi_sell)
        & near & (close < lag(close, 1)) & (macd < lag(macd, 1)) & volume
        & (htf_close < htf_e50) & (htf_e21 < htf_e50)
    )  # fmt: skip
    confidence = np.minimum(
        p.max_confidence,
        p.base_confidence + p.adx_weight * np.minimum(1.0, i[ind.adx(14)] / 100),
    )
    return {
        side: Setup(cond, confidence, e50, reward_target(close, e50, p.reward_multiple, side))
        for side, cond in ((BUY, buy), (SELL, sell))
    }


MULTI_TIMEFRAME_TREND_CONTINUATION = Strategy(
    id="multi_timeframe_trend_continuation",
    version=1,
    sides=(BUY, SELL),
    params_type=MultiTimeframeParams,
    reads=_multi_timeframe_reads,
    rule=_multi_timeframe,
    summary="A pullback to EMA21 resuming in an EMA21/50/200 trend the higher timeframe shares",
    higher_reads=_multi_timeframe_higher_reads,
)


# 4. ichimoku_cloud_momentum ------------------------------------------------------------


class IchimokuParams(StrategyParams):
    reward_multiple: float = Field(2.0, gt=0)
    base_confidence: float = 0.70
    volume_ratio: float = Field(1.5, ge=0, description="bonus when v > ratio · VOL_SMA20")
    volume_bonus: float = 0.05
    max_confidence: float = 0.90


def _ichimoku_reads(p: IchimokuParams) -> Reads:
    return Reads({ind.TENKAN: 1, ind.KIJUN: 1, ind.SPAN_A: 0, ind.SPAN_B: 0, ind.volume_sma(20): 0})


def _ichimoku(c: CandleWindow, i: IndicatorView, p: IchimokuParams) -> Mapping[Side, Setup]:
    close, tenkan, kijun = c.close, i[ind.TENKAN], i[ind.KIJUN]
    span_a, span_b = i[ind.SPAN_A], i[ind.SPAN_B]
    buy = (
        (close > span_a) & (close > span_b) & (close > kijun)
        & (crossed_up(tenkan, kijun) | (span_a > span_b))
    )  # fmt: skip
    sell = (
        (close < span_a) & (close < span_b) & (close < kijun)
        & (crossed_down(tenkan, kijun) | (span_a < span_b))
    )  # fmt: skip
    loud = c.volume > p.volume_ratio * i[ind.volume_sma(20)]
    confidence = np.minimum(p.max_confidence, p.base_confidence + p.volume_bonus * loud)
    return {
        side: Setup(cond, confidence, kijun, reward_target(close, kijun, p.reward_multiple, side))
        for side, cond in ((BUY, buy), (SELL, sell))
    }


ICHIMOKU_CLOUD_MOMENTUM = Strategy(
    id="ichimoku_cloud_momentum",
    version=1,
    sides=(BUY, SELL),
    params_type=IchimokuParams,
    reads=_ichimoku_reads,
    rule=_ichimoku,
    summary="First close beyond a cloud that agrees, or a TK cross while there",
)


# 5. volume_surge_breakout --------------------------------------------------------------


class VolumeSurgeParams(StrategyParams):
    lookback: int = Field(19, ge=1, description="n of HH(n,1) / LL(n,1)")
    volume_ratio: float = Field(3.0, ge=0)
    rsi_min: float = 25
    rsi_max: float = 75
    close_tolerance: float = Field(0.002, ge=0, description="c > (1 − tol)·HH(n,1)")
    stop_fraction: float = Field(0.02, gt=0, description="SL = (1 − f)·HH(n,1)")
    reward_multiple: float = Field(2.5, gt=0)
    base_confidence: float = 0.75
    strong_volume_ratio: float = 5.0
    extreme_volume_ratio: float = 7.0
    volume_bonus: float = 0.05
    max_confidence: float = 0.95


def _volume_surge_reads(p: VolumeSurgeParams) -> Reads:
    return Reads(
        {ind.volume_sma(20): 0, ind.rsi(14): 0, ind.MACD: 0, ind.MACD_SIGNAL: 0},
        price_depth=p.lookback,
    )


def _volume_surge(c: CandleWindow, i: IndicatorView, p: VolumeSurgeParams) -> Mapping[Side, Setup]:
    close, volume, average = c.close, c.volume, i[ind.volume_sma(20)]
    rsi, macd, signal = i[ind.rsi(14)], i[ind.MACD], i[ind.MACD_SIGNAL]
    top, bottom = highest(c.high, p.lookback, 1), lowest(c.low, p.lookback, 1)
    both = (volume > p.volume_ratio * average) & (rsi >= p.rsi_min) & (rsi <= p.rsi_max)
    buy = both & (c.high > top) & (close > (1 - p.close_tolerance) * top) & (macd > signal)
    sell = both & (c.low < bottom) & (close < (1 + p.close_tolerance) * bottom) & (macd < signal)
    confidence = np.minimum(
        p.max_confidence,
        p.base_confidence
        + p.volume_bonus * (volume > p.strong_volume_ratio * average)
        + p.volume_bonus * (volume > p.extreme_volume_ratio * average),
    )
    buy_stop = (1 - p.stop_fraction) * top
    sell_stop = (1 + p.stop_fraction) * bottom
    return {
        BUY: Setup(
            buy, confidence, buy_stop, reward_target(close, buy_stop, p.reward_multiple, BUY)
        ),
        SELL: Setup(
            sell, confidence, sell_stop, reward_target(close, sell_stop, p.reward_multiple, SELL)
        ),
    }


VOLUME_SURGE_BREAKOUT = Strategy(
    id="volume_surge_breakout",
    version=1,
    sides=(BUY, SELL),
    params_type=VolumeSurgeParams,
    reads=_volume_surge_reads,
    rule=_volume_surge,
    summary="A break of the 19-candle high/low on 3× average volume, MACD agreeing",
)


# 6. range_break_pop --------------------------------------------------------------------


class RangeBreakPopParams(StrategyParams):
    range_atr_ratio: float = Field(1.5, ge=0, description="rng > ratio · ATR14")
    stop_lookback: int = Field(10, ge=1, description="SL below LL(n,0)")
    stop_factor: float = Field(0.99, gt=0, lt=1)
    reward_multiple: float = Field(2.0, gt=0)
    confidence: float = Field(0.68, ge=0, le=1)


def _range_break_pop_reads(p: RangeBreakPopParams) -> Reads:
    return Reads({ind.atr(14): 0}, price_depth=max(2, p.stop_lookback - 1))


def _range_break_pop(
    c: CandleWindow, i: IndicatorView, p: RangeBreakPopParams
) -> Mapping[Side, Setup]:
    close = c.close
    previous = lag(close, 1)
    condition = (
        (c.high - c.low > p.range_atr_ratio * i[ind.atr(14)])
        & (c.volume > 0)
        & (close > previous)
        & (previous > lag(close, 2))
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


RANGE_BREAK_POP = Strategy(
    id="range_break_pop",
    version=1,
    sides=(BUY,),
    params_type=RangeBreakPopParams,
    reads=_range_break_pop_reads,
    rule=_range_break_pop,
    summary="A candle wider than 1.5 ATR after two higher closes",
)

STRATEGIES = (
    MOMENTUM_PULSE,
    GOLDEN_TREND_SYNC,
    MULTI_TIMEFRAME_TREND_CONTINUATION,
    ICHIMOKU_CLOUD_MOMENTUM,
    VOLUME_SURGE_BREAKOUT,
    RANGE_BREAK_POP,
)
