"""``ticker_velocity`` (STRATEGIES.md 4.6): the price moved 0.5 % in 60 s and is still moving.

The price is sampled each second (the last aggTrade ``p``, or on spot the 24 h ticker's
last price ``c``); v = (p_now − p_60s)/p_60s. Buy when v ≥ +0.5 % and the last 15 s still
rose ≥ 0.1 % (not a spike already fading); sell mirrored; a side re-arms once |v| is back
under 0.25 %. The ticker's ``P`` is a 24 h change, not a velocity: the system this
replaces read it where it meant ``p``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from petrosa.realtime.events import AggTrade, Feed, MarketEvent, TickerPrice
from petrosa.realtime.risk import RiskUnit
from petrosa.realtime.samples import SecondSamples
from petrosa.realtime.strategy import (
    MS,
    Decision,
    RealtimeParams,
    RealtimeStrategy,
    Side,
    risk_levels,
)
from petrosa.realtime.triggers import Hysteresis


class PriceSource(StrEnum):
    AGG_TRADE = "aggTrade"
    TICKER = "ticker"


class VelocityParams(RealtimeParams):
    window_s: int = Field(60, ge=2, le=3_600)
    trigger: float = Field(0.005, gt=0, description="|v| that fires (0.005 = 0.5 %)")
    confirm_s: int = Field(15, ge=1, le=3_600)
    confirm_move: float = Field(0.001, ge=0, description="same-direction move over confirm_s")
    rearm: float = Field(0.0025, ge=0, description="|v| below which a side re-arms")
    cooldown_s: float = Field(300.0, ge=0, le=86_400)
    price_source: PriceSource = PriceSource.AGG_TRADE
    base_confidence: float = Field(0.60, ge=0, le=1)
    confidence_span: float = Field(0.25, ge=0, le=1)
    full_strength: float = Field(0.01, gt=0, description="|v| − trigger for full strength")
    confidence_cap: float = Field(0.85, ge=0, le=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.rearm >= self.trigger:
            raise ValueError("rearm must be below trigger")
        if self.confirm_s >= self.window_s:
            raise ValueError("confirm_s must be shorter than window_s")
        return self


class TickerVelocity(RealtimeStrategy[VelocityParams]):
    id = "ticker_velocity"
    version = 1
    params_type = VelocityParams
    summary = "price moved ≥ 0.5 % in 60 s and still moving over the last 15 s"

    def __init__(self, params: VelocityParams, risk: RiskUnit) -> None:
        super().__init__(params, risk)
        self.prices: SecondSamples[float] = SecondSamples(params.window_s)
        self.buy = Hysteresis()
        self.sell = Hysteresis()

    @property
    def feeds(self) -> frozenset[Feed]:
        source = self.params.price_source
        return frozenset({Feed.TICKER if source is PriceSource.TICKER else Feed.TRADES})

    @property
    def warm_up_ms(self) -> int:
        return self.params.window_s * MS

    @property
    def evaluable(self) -> bool:
        return len(self.prices.closed) >= self.params.window_s

    def on_event(self, event: MarketEvent) -> Decision | None:
        assert isinstance(event, AggTrade | TickerPrice)
        p = self.params
        self.prices.add(event.time_ms, event.price)
        then = self.prices.ago(p.window_s)
        recent = self.prices.ago(p.confirm_s)
        if then is None or recent is None:
            return None
        now = event.price
        velocity = (now - then) / then
        move = (now - recent) / recent
        buy = self.buy.step(
            trigger=velocity >= p.trigger and move >= p.confirm_move, rearm=velocity < p.rearm
        )
        sell = self.sell.step(
            trigger=velocity <= -p.trigger and move <= -p.confirm_move,
            rearm=velocity > -p.rearm,
        )
        if not (buy or sell):
            return None
        side = Side.BUY if buy else Side.SELL
        strength = min(1.0, (abs(velocity) - p.trigger) / p.full_strength)
        confidence = min(p.confidence_cap, p.base_confidence + p.confidence_span * strength)
        unit = self.risk.unit(now)
        stop, target = risk_levels(side, now, unit)
        inputs = {"velocity": velocity, "recent_move": move, "price_then": then}
        return Decision(side, now, stop, target, confidence, {**inputs, "risk_unit": unit})
