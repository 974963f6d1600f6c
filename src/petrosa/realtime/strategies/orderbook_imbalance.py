"""``orderbook_imbalance`` (STRATEGIES.md 4.4): a book skewed to one side for 10 s.

I = (B − A)/(B + A) with B, A the notional (price·quantity) of the N best bids and asks.
Buy when every per-second sample of the last ``persistence_s`` has I ≥ +0.30 and a spread
of at most 10 bps; sell mirrored. The system this replaces only declared it, with ratios
1.2 / 0.8 (I ≈ +0.09 / −0.11) and no persistence, which a top-5 book crosses many times a
second; the 0.30 / 0.15 hysteresis and the persistence are what keep it to one signal.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from petrosa.realtime.events import BookSnapshot, Feed, MarketEvent
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


class ImbalanceParams(RealtimeParams):
    levels: int = Field(10, ge=1, le=20, description="N best levels per side")
    trigger: float = Field(0.30, gt=0, lt=1, description="|I| that fires")
    rearm: float = Field(0.15, ge=0, lt=1, description="|I| below which a side re-arms")
    persistence_s: int = Field(10, ge=1, le=300, description="seconds of samples that must agree")
    max_spread_bps: float = Field(10.0, gt=0)
    cooldown_s: float = Field(120.0, ge=0, le=86_400)
    base_confidence: float = Field(0.60, ge=0, le=1)
    confidence_span: float = Field(0.30, ge=0, le=1, description="added at full strength")
    full_strength: float = Field(0.40, gt=0, description="|Ī| − trigger for full strength")
    confidence_cap: float = Field(0.90, ge=0, le=1)

    @model_validator(mode="after")
    def _rearm_below_trigger(self) -> Self:
        if self.rearm >= self.trigger:
            raise ValueError("rearm must be below trigger")
        return self


def imbalance(book: BookSnapshot, levels: int) -> float:
    """(B − A)/(B + A) over the notional of the ``levels`` best levels of each side."""
    bids = sum(p * q for p, q in zip(book.bid_prices[:levels], book.bid_qtys[:levels], strict=True))
    asks = sum(p * q for p, q in zip(book.ask_prices[:levels], book.ask_qtys[:levels], strict=True))
    return (bids - asks) / (bids + asks)


class OrderbookImbalance(RealtimeStrategy[ImbalanceParams]):
    id = "orderbook_imbalance"
    version = 1
    params_type = ImbalanceParams
    summary = "book notional skewed ≥ 0.30 to one side for 10 s"

    def __init__(self, params: ImbalanceParams, risk: RiskUnit) -> None:
        super().__init__(params, risk)
        self.samples: SecondSamples[tuple[float, float]] = SecondSamples(params.persistence_s)
        self.buy = Hysteresis()
        self.sell = Hysteresis()

    @property
    def feeds(self) -> frozenset[Feed]:
        return frozenset({Feed.DEPTH})

    @property
    def warm_up_ms(self) -> int:
        return self.params.persistence_s * MS

    @property
    def evaluable(self) -> bool:
        return len(self.samples.closed) >= self.params.persistence_s - 1

    def on_event(self, event: MarketEvent) -> Decision | None:
        assert isinstance(event, BookSnapshot)
        p = self.params
        value = imbalance(event, p.levels)
        self.samples.add(event.time_ms, (value, event.spread_bps))
        window = self.samples.last(p.persistence_s)
        if window is None:
            return None
        tight = all(spread <= p.max_spread_bps for _, spread in window)
        buy = self.buy.step(
            trigger=tight and all(i >= p.trigger for i, _ in window), rearm=value < p.rearm
        )
        sell = self.sell.step(
            trigger=tight and all(i <= -p.trigger for i, _ in window), rearm=value > -p.rearm
        )
        if not (buy or sell):
            return None
        side = Side.BUY if buy else Side.SELL
        mean = sum(i for i, _ in window) / len(window)
        strength = min(1.0, (abs(mean) - p.trigger) / p.full_strength)
        confidence = min(p.confidence_cap, p.base_confidence + p.confidence_span * strength)
        price = event.mid
        unit = self.risk.unit(price)
        stop, target = risk_levels(side, price, unit)
        inputs = {"imbalance": value, "mean_imbalance": mean, "spread_bps": event.spread_bps}
        return Decision(side, price, stop, target, confidence, {**inputs, "risk_unit": unit})
