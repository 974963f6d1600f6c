"""Volume and structure (STRATEGIES.md 3.3): a sweep of the range's edge, and absorbed
volume spikes in a tight range."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydantic import Field

from petrosa.tabot import indicators as ind
from petrosa.tabot.indicators import IndicatorView
from petrosa.tabot.series import (
    BoolArray,
    FloatArray,
    any_of,
    average,
    highest,
    lag,
    lowest,
    ratio,
    window_max,
    window_min,
)
from petrosa.tabot.strategy import Reads, Setup, Side, Strategy, StrategyParams, reward_target
from petrosa.tabot.window import CandleWindow

BUY, SELL = Side.BUY, Side.SELL


# 13. liquidity_grab_reversal -----------------------------------------------------------


class LiquidityGrabParams(StrategyParams):
    sweep_offset: int = Field(2, ge=1, description="the sweep candle; later ones confirm")
    range_length: int = Field(15, ge=1, description="S = LL(n, 5), Z = HH(n, 5), Vb = AVG(v, n, 5)")
    range_offset: int = Field(5, ge=1)
    sweep_tolerance: float = Field(0.005, ge=0, description="l[2] ≤ (1 + tol)·S")
    min_rejection: float = Field(0.3, ge=0, le=1, description="close off the sweep's extreme")
    volume_ratio: float = Field(1.5, ge=0, description="v[2] > ratio · Vb")
    stop_margin: float = Field(0.005, gt=0, description="SL = (1 − m)·S")
    reward_multiple: float = Field(2.0, gt=0)
    divergence_span: int = Field(4, ge=1)
    base_confidence: float = 0.75
    loud_volume_ratio: float = 2.0
    bonus: float = 0.05
    max_confidence: float = 0.95


def _liquidity_grab_reads(p: LiquidityGrabParams) -> Reads:
    depth = max(p.range_offset + p.range_length - 1, p.sweep_offset, p.divergence_span)
    return Reads({ind.rsi(14): p.divergence_span, ind.volume_sma(20): 0}, price_depth=depth)


def _liquidity_grab(
    c: CandleWindow, i: IndicatorView, p: LiquidityGrabParams
) -> Mapping[Side, Setup]:
    close, rsi = c.close, i[ind.rsi(14)]
    support = lowest(c.low, p.range_length, p.range_offset)
    resistance = highest(c.high, p.range_length, p.range_offset)
    base_volume = average(c.volume, p.range_length, p.range_offset)
    k = p.sweep_offset
    o2, h2, l2, c2, v2 = (lag(x, k) for x in (c.open, c.high, c.low, close, c.volume))
    span = h2 - l2
    heavy = v2 > p.volume_ratio * base_volume
    confirmed = [lag(close, j) for j in range(k)]
    buy = (
        (l2 <= (1 + p.sweep_tolerance) * support)
        & (ratio(c2 - l2, span) > p.min_rejection)
        & (c2 > o2) & heavy
        & np.logical_and.reduce([x > support for x in confirmed])
    )  # fmt: skip
    sell = (
        (h2 >= (1 - p.sweep_tolerance) * resistance)
        & (ratio(h2 - c2, span) > p.min_rejection)
        & (c2 < o2) & heavy
        & np.logical_and.reduce([x < resistance for x in confirmed])
    )  # fmt: skip
    loud = c.volume > p.loud_volume_ratio * i[ind.volume_sma(20)]
    earlier_close, earlier_rsi = lag(close, p.divergence_span), lag(rsi, p.divergence_span)
    bullish = (close < earlier_close) & (rsi > earlier_rsi)
    bearish = (close > earlier_close) & (rsi < earlier_rsi)

    def confidence(divergent: BoolArray) -> FloatArray:
        raw = p.base_confidence + p.bonus * loud + p.bonus * divergent
        return np.minimum(p.max_confidence, raw)

    buy_stop, sell_stop = (1 - p.stop_margin) * support, (1 + p.stop_margin) * resistance
    return {
        BUY: Setup(
            buy, confidence(bullish), buy_stop,
            reward_target(close, buy_stop, p.reward_multiple, BUY),
        ),
        SELL: Setup(
            sell, confidence(bearish), sell_stop,
            reward_target(close, sell_stop, p.reward_multiple, SELL),
        ),
    }  # fmt: skip


LIQUIDITY_GRAB_REVERSAL = Strategy(
    id="liquidity_grab_reversal",
    version=1,
    sides=(BUY, SELL),
    params_type=LiquidityGrabParams,
    reads=_liquidity_grab_reads,
    rule=_liquidity_grab,
    summary="A heavy candle sweeps the 15-candle range edge and closes back inside, confirmed",
)


# 14. order_flow_imbalance --------------------------------------------------------------


class OrderFlowParams(StrategyParams):
    baseline_length: int = Field(10, ge=1, description="baseline candles 10…19")
    baseline_offset: int = Field(10, ge=1)
    spike_first: int = Field(2, ge=0, description="spike candles j = 2…9")
    spike_last: int = Field(9, ge=0)
    spike_volume_ratio: float = Field(2.0, ge=0, description="v[j] > ratio · Vb")
    spike_max_range: float = Field(0.02, gt=0, description="(h[j] − l[j]) / l[j] below this")
    tight_length: int = Field(10, ge=2, description="closes c[0…n−1] must be tight")
    tight_range: float = Field(0.03, gt=0, description="(max − min) / mean below this")
    trend_length: int = Field(5, ge=1, description="T = AVG(v,n,0) / AVG(v,n,n)")
    buy_trend: float = 1.2
    sell_trend: float = 0.8
    stop_margin: float = Field(0.01, gt=0, description="SL = (1 − m)·S")
    reward_multiple: float = Field(2.5, gt=0)
    base_confidence: float = 0.75
    loud_volume_ratio: float = 1.5
    rsi_overbought: float = 70
    rsi_oversold: float = 30
    bonus: float = 0.05
    max_confidence: float = 0.95


def _order_flow_reads(p: OrderFlowParams) -> Reads:
    depth = max(
        p.baseline_offset + p.baseline_length - 1,
        p.spike_last,
        p.tight_length - 1,
        2 * p.trend_length - 1,
    )
    return Reads({ind.rsi(14): 0, ind.volume_sma(20): 0}, price_depth=depth)


def _order_flow(c: CandleWindow, i: IndicatorView, p: OrderFlowParams) -> Mapping[Side, Setup]:
    close, volume = c.close, c.volume
    base_volume = average(volume, p.baseline_length, p.baseline_offset)
    support = lowest(c.low, p.baseline_length, p.baseline_offset)
    resistance = highest(c.high, p.baseline_length, p.baseline_offset)
    spikes = range(p.spike_first, p.spike_last + 1)

    def spike(j: int) -> BoolArray:
        low = lag(c.low, j)
        return (lag(volume, j) > p.spike_volume_ratio * base_volume) & (
            ratio(lag(c.high, j) - low, low) < p.spike_max_range
        )

    buy_spike = any_of([spike(j) & (lag(close, j) > support) for j in spikes])
    sell_spike = any_of([spike(j) & (lag(close, j) < resistance) for j in spikes])
    top, bottom = window_max(close, p.tight_length), window_min(close, p.tight_length)
    tight = ratio(top - bottom, average(close, p.tight_length, 0)) < p.tight_range
    trend = ratio(
        average(volume, p.trend_length, 0), average(volume, p.trend_length, p.trend_length)
    )
    buy = tight & buy_spike & (trend > p.buy_trend) & (close > support)
    sell = tight & sell_spike & (trend < p.sell_trend) & (close < resistance)
    loud = volume > p.loud_volume_ratio * i[ind.volume_sma(20)]
    rsi = i[ind.rsi(14)]

    def confidence(room: BoolArray) -> FloatArray:
        return np.minimum(p.max_confidence, p.base_confidence + p.bonus * loud + p.bonus * room)

    buy_stop, sell_stop = (1 - p.stop_margin) * support, (1 + p.stop_margin) * resistance
    return {
        BUY: Setup(
            buy, confidence(rsi < p.rsi_overbought), buy_stop,
            reward_target(close, buy_stop, p.reward_multiple, BUY),
        ),
        SELL: Setup(
            sell, confidence(rsi > p.rsi_oversold), sell_stop,
            reward_target(close, sell_stop, p.reward_multiple, SELL),
        ),
    }  # fmt: skip


ORDER_FLOW_IMBALANCE = Strategy(
    id="order_flow_imbalance",
    version=1,
    sides=(BUY, SELL),
    params_type=OrderFlowParams,
    reads=_order_flow_reads,
    rule=_order_flow,
    summary="Volume spikes absorbed in a tight range, then volume building on one side",
)

STRATEGIES = (LIQUIDITY_GRAB_REVERSAL, ORDER_FLOW_IMBALANCE)
