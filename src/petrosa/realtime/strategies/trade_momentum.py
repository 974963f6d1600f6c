"""``trade_momentum`` (STRATEGIES.md 4.5): aggressive buying or selling, unusually active.

Over the last 30 s of aggregate trades (``m`` true: the buyer was the maker, so the
aggressor sold): F = (buy − sell)/(buy + sell) aggressor notional, Q the same over the
window's top decile of trades by notional, P = clip(price change / 0.2 %, −1, 1);
S = 0.4·P + 0.3·Q + 0.3·F. Buy at S ≥ 0.7, sell at S ≤ −0.7, both only with ≥ 50 trades
and a window notional ≥ 1.5 × the median 30 s notional of the last 30 min (epoch-aligned
30 s buckets, so a restarted replica computes the same median).

Notional sums are exact integers (units of 10⁻⁸ quote asset): a running float sum would
carry rounding from trades long gone, and a replica that started later would disagree in
the last bit exactly where a threshold is compared.
"""

from __future__ import annotations

import math
import statistics
from array import array
from collections import deque
from typing import Self

import numpy as np
from pydantic import Field, model_validator

from petrosa.realtime.events import AggTrade, Feed, MarketEvent
from petrosa.realtime.risk import RiskUnit
from petrosa.realtime.strategy import (
    MS,
    Decision,
    RealtimeParams,
    RealtimeStrategy,
    Side,
    risk_levels,
)
from petrosa.realtime.triggers import Hysteresis

UNITS = 100_000_000


class MomentumParams(RealtimeParams):
    window_s: int = Field(30, ge=1, le=600)
    trigger: float = Field(0.7, gt=0, le=1, description="|S| that fires")
    rearm: float = Field(0.35, ge=0, lt=1, description="|S| below which a side re-arms")
    min_trades: int = Field(50, ge=1)
    activity_multiple: float = Field(1.5, ge=0, description="× median window notional")
    activity_history_s: int = Field(1_800, ge=60, le=86_400, description="median over")
    price_scale: float = Field(0.002, gt=0, description="relative move for |P| = 1")
    weight_price: float = Field(0.4, ge=0, le=1)
    weight_large: float = Field(0.3, ge=0, le=1)
    weight_flow: float = Field(0.3, ge=0, le=1)
    top_fraction: float = Field(0.1, gt=0, le=1, description="the top decile by notional")
    cooldown_s: float = Field(120.0, ge=0, le=86_400)
    max_window_trades: int = Field(100_000, ge=100, description="memory bound of the window")
    base_confidence: float = Field(0.60, ge=0, le=1)
    confidence_span: float = Field(0.30, ge=0, le=1)
    full_strength: float = Field(0.3, gt=0, description="|S| − trigger for full strength")
    confidence_cap: float = Field(0.90, ge=0, le=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.rearm >= self.trigger:
            raise ValueError("rearm must be below trigger")
        if self.activity_history_s % self.window_s:
            raise ValueError("activity_history_s must be a multiple of window_s")
        return self

    @property
    def buckets(self) -> int:
        return self.activity_history_s // self.window_s


class TradeWindow:
    """The trades of the last ``span_ms``: compact typed arrays, oldest evicted first."""

    def __init__(self, span_ms: int, capacity: int) -> None:
        self.span_ms = span_ms
        self.capacity = capacity
        self.times = array("q")
        self.prices = array("d")
        self.units = array("q")
        self.signs = array("q")
        self.head = 0
        self.buy_units = 0
        self.sell_units = 0

    def __len__(self) -> int:
        return len(self.times) - self.head

    def add(self, trade: AggTrade) -> None:
        units = round(trade.notional * UNITS)
        sign = -1 if trade.buyer_maker else 1
        self.times.append(trade.time_ms)
        self.prices.append(trade.price)
        self.units.append(units)
        self.signs.append(sign)
        self._count(units, sign, 1)
        self.evict(trade.time_ms)

    def evict(self, now_ms: int) -> None:
        head, times = self.head, self.times
        while head < len(times) and (
            times[head] <= now_ms - self.span_ms or len(times) - head > self.capacity
        ):
            self._count(self.units[head], self.signs[head], -1)
            head += 1
        self.head = head
        if head > 1024 and head * 2 > len(times):
            for column in (self.times, self.prices, self.units, self.signs):
                del column[:head]
            self.head = 0

    def _count(self, units: int, sign: int, direction: int) -> None:
        if sign > 0:
            self.buy_units += direction * units
        else:
            self.sell_units += direction * units

    @property
    def notional_units(self) -> int:
        return self.buy_units + self.sell_units

    def flow(self) -> float:
        total = self.notional_units
        return (self.buy_units - self.sell_units) / total if total else 0.0

    def price_change(self) -> float:
        first = self.prices[self.head]
        return (self.prices[-1] - first) / first

    def large_flow(self, fraction: float) -> float:
        """F over the top ``fraction`` of the window's trades by notional."""
        n = len(self)
        k = max(1, math.ceil(n * fraction))
        units = np.frombuffer(self.units, dtype=np.int64)[self.head :]
        signs = np.frombuffer(self.signs, dtype=np.int64)[self.head :]
        top = np.argpartition(units, n - k)[n - k :]
        chosen = units[top]
        total = int(chosen.sum())
        result = int((chosen * signs[top]).sum()) / total if total else 0.0
        del units, signs  # release the buffers, so the arrays may grow again
        return result


class TradeMomentum(RealtimeStrategy[MomentumParams]):
    id = "trade_momentum"
    version = 1
    params_type = MomentumParams
    summary = "30 s of aggressive one-sided trading on unusual activity"

    def __init__(self, params: MomentumParams, risk: RiskUnit) -> None:
        super().__init__(params, risk)
        self.window = TradeWindow(params.window_s * MS, params.max_window_trades)
        self.history: deque[int] = deque(maxlen=params.buckets)
        self.bucket: int | None = None
        self.first_bucket: int | None = None
        self.bucket_units = 0
        self.buy = Hysteresis()
        self.sell = Hysteresis()

    @property
    def feeds(self) -> frozenset[Feed]:
        return frozenset({Feed.TRADES})

    @property
    def warm_up_ms(self) -> int:
        return (self.params.buckets + 1) * self.params.window_s * MS

    @property
    def evaluable(self) -> bool:
        return len(self.history) == self.params.buckets

    def on_event(self, event: MarketEvent) -> Decision | None:
        assert isinstance(event, AggTrade)
        self._bucket(event)
        self.window.add(event)
        if not self.evaluable:
            return None
        p = self.params
        window = self.window
        flow = window.flow()
        move = max(-1.0, min(1.0, window.price_change() / p.price_scale))
        partial = p.weight_price * move + p.weight_flow * flow
        active = len(
            window
        ) >= p.min_trades and window.notional_units >= p.activity_multiple * statistics.median(
            self.history
        )
        score: float | None = None
        # |Q| ≤ 1, so when even Q = ±1 could not reach a threshold that matters now,
        # the top decile (the one costly input) is not computed: S stays inside ±bound.
        bound = abs(partial) + p.weight_large
        if self.buy.armed and self.sell.armed:
            wanted = active and bound >= p.trigger  # only a trigger can change anything
        else:
            wanted = bound >= p.rearm  # a disarmed side needs S to know if it re-arms
        if wanted:
            large = window.large_flow(p.top_fraction)
            score = partial + p.weight_large * large
        s = 0.0 if score is None else score
        buy = self.buy.step(trigger=active and s >= p.trigger, rearm=s < p.rearm)
        sell = self.sell.step(trigger=active and s <= -p.trigger, rearm=s > -p.rearm)
        if not (buy or sell):
            return None
        assert score is not None
        side = Side.BUY if buy else Side.SELL
        strength = min(1.0, (abs(score) - p.trigger) / p.full_strength)
        confidence = min(p.confidence_cap, p.base_confidence + p.confidence_span * strength)
        price = event.price
        unit = self.risk.unit(price)
        stop, target = risk_levels(side, price, unit)
        inputs = {
            "score": score,
            "flow": flow,
            "large_flow": (score - partial) / p.weight_large if p.weight_large else 0.0,
            "price_move": move,
            "trades": len(window),
            "window_notional": window.notional_units / UNITS,
            "median_notional": statistics.median(self.history) / UNITS,
            "risk_unit": unit,
        }
        return Decision(side, price, stop, target, confidence, inputs)

    def _bucket(self, trade: AggTrade) -> None:
        """Close the 30 s buckets the trade leaves behind (silent ones count as 0); the
        first, partial bucket after a start is not history."""
        bucket = trade.time_ms // (self.params.window_s * MS)
        if self.bucket is None:
            self.bucket = self.first_bucket = bucket
        elif bucket > self.bucket:
            if self.bucket != self.first_bucket:
                self.history.append(self.bucket_units)
            for _ in range(min(bucket - self.bucket - 1, self.params.buckets)):
                self.history.append(0)
            self.bucket, self.bucket_units = bucket, 0
        self.bucket_units += round(trade.notional * UNITS)
