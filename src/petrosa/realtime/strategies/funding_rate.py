"""``funding_rate`` (STRATEGIES.md 4.7, USD-M only): fade an extreme funding rate before
settlement, collecting the payment.

Funding arrives only inside ``markPriceUpdate`` (``r`` rate, ``T`` next funding time, ``p``
mark, ``i`` index); there is no funding-rate stream (the system this replaces subscribed to
one that does not exist, on the spot endpoint). Positive r: longs pay shorts, so sell when
r ≥ 0.0005 within 30 min of T; buy when r ≤ −0.0005. One signal per funding time, and T is
the signal-id time, so every replica and restart names it the same.
"""

from __future__ import annotations

from collections import deque

from pydantic import Field

from petrosa.contracts import Market
from petrosa.realtime.events import Feed, MarketEvent, MarkPrice
from petrosa.realtime.risk import RiskUnit
from petrosa.realtime.strategy import Decision, RealtimeParams, RealtimeStrategy, Side, risk_levels

MINUTE_MS = 60_000
REMEMBERED_FUNDINGS = 8


class FundingParams(RealtimeParams):
    threshold: float = Field(0.0005, gt=0, description="|r| per funding period")
    window_min: float = Field(30.0, gt=0, le=480, description="act only this close to T")
    premium_confirmation: float = Field(0.0002, ge=0, description="|p − i|/i agreeing with r")
    cooldown_s: float = Field(0.0, ge=0, le=86_400, description="one signal per funding time")
    base_confidence: float = Field(0.60, ge=0, le=1)
    confidence_span: float = Field(0.20, ge=0, le=1)
    full_strength: float = Field(0.0015, gt=0, description="|r| − threshold for full strength")
    premium_bonus: float = Field(0.05, ge=0, le=1)
    confidence_cap: float = Field(0.85, ge=0, le=1)


class FundingRate(RealtimeStrategy[FundingParams]):
    id = "funding_rate"
    version = 1
    params_type = FundingParams
    markets = frozenset({Market.FUTURES})
    summary = "|funding| ≥ 0.05 % within 30 min of settlement: fade the crowded side"

    def __init__(self, params: FundingParams, risk: RiskUnit) -> None:
        super().__init__(params, risk)
        self.signalled: deque[int] = deque(maxlen=REMEMBERED_FUNDINGS)

    @property
    def feeds(self) -> frozenset[Feed]:
        return frozenset({Feed.MARK})

    @property
    def warm_up_ms(self) -> int:
        return 0

    @property
    def evaluable(self) -> bool:
        return True

    def on_event(self, event: MarketEvent) -> Decision | None:
        assert isinstance(event, MarkPrice)
        p = self.params
        rate, funding_ms = event.funding_rate, event.next_funding_ms
        until = funding_ms - event.time_ms
        if not 0 <= until <= p.window_min * MINUTE_MS or abs(rate) < p.threshold:
            return None
        if funding_ms in self.signalled:
            return None
        self.signalled.append(funding_ms)
        side = Side.SELL if rate > 0 else Side.BUY
        mark, index = event.mark_price, event.index_price
        premium = (mark - index) / index
        agrees = premium * rate > 0 and abs(premium) >= p.premium_confirmation
        strength = min(1.0, (abs(rate) - p.threshold) / p.full_strength)
        confidence = p.base_confidence + p.confidence_span * strength
        confidence = min(p.confidence_cap, confidence + (p.premium_bonus if agrees else 0.0))
        unit = self.risk.unit(mark)
        stop, target = risk_levels(side, mark, unit)
        inputs = {
            "funding_rate": rate,
            "funding_time": funding_ms,
            "minutes_to_funding": until / MINUTE_MS,
            "premium": premium,
            "index_price": index,
            "risk_unit": unit,
        }
        return Decision(
            side, mark, stop, target, confidence, inputs, ("funding", funding_ms), funding_ms
        )
