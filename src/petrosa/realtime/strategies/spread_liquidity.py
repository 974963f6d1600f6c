"""``spread_liquidity`` (STRATEGIES.md 4.2): the spread blowing out, and liquidity returning.

Per snapshot: mid, spread in bps and depth5 (quantity of the 5 best levels of each side);
the last ``lookback_snapshots`` are kept. A wide event opens when the spread is both wide
in absolute terms and ``spread_ratio_threshold`` × its recent mean. Buy (liquidity coming
back): an event older than ``persistence_s`` whose spread now narrows fast and is back
under the ratio; it closes the event. Sell (liquidity withdrawing): the spread widening
fast, ratio > 3 and depth5 down by half; it re-arms once the ratio is back under 2.5.

Two fixes against the old rule: the buy confidence uses the event's peak ratio (the current
ratio is below 2.5 by construction), and the stop is at least 0.5 % of mid (two spreads
alone are a few ticks on a liquid pair).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from pydantic import Field

from petrosa.realtime.events import BookSnapshot, Feed, MarketEvent
from petrosa.realtime.risk import RiskUnit
from petrosa.realtime.strategy import MS, Decision, RealtimeParams, RealtimeStrategy, Side
from petrosa.realtime.triggers import Hysteresis

DEPTH_LEVELS = 5


class SpreadParams(RealtimeParams):
    spread_threshold_bps: float = Field(10.0, ge=0)
    spread_ratio_threshold: float = Field(2.5, gt=1)
    velocity_threshold: float = Field(0.5, gt=0, description="relative spread change per s")
    min_depth_reduction: float = Field(0.5, gt=0, lt=1)
    sell_ratio_threshold: float = Field(3.0, gt=1)
    lookback_snapshots: int = Field(20, ge=3, le=1_000)
    persistence_s: float = Field(30.0, ge=0)
    max_event_age_s: float = Field(600.0, gt=0)
    cooldown_s: float = Field(60.0, ge=0, le=86_400)
    base_confidence: float = Field(0.70, ge=0, le=1)
    peak_weight: float = Field(0.05, ge=0, description="buy: per unit of peak ratio over 2.5")
    age_bonus: float = Field(0.10, ge=0, description="buy: bonus at full age")
    age_full_s: float = Field(300.0, gt=0)
    velocity_weight: float = Field(0.10, ge=0, description="sell")
    depth_weight: float = Field(0.15, ge=0, description="sell")
    confidence_cap: float = Field(0.95, ge=0, le=1)
    stop_floor: float = Field(0.005, gt=0, description="minimum stop distance, × mid")
    spread_multiple: float = Field(2.0, gt=0, description="stop distance in spreads")


@dataclass(frozen=True, slots=True)
class Point:
    time_ms: int
    spread_bps: float
    depth: float


@dataclass(slots=True)
class WideEvent:
    started_ms: int
    peak_ratio: float


class SpreadLiquidity(RealtimeStrategy[SpreadParams]):
    id = "spread_liquidity"
    version = 1
    params_type = SpreadParams
    summary = "spread blow-out and recovery; liquidity withdrawal"

    def __init__(self, params: SpreadParams, risk: RiskUnit) -> None:
        super().__init__(params, risk)
        self.points: deque[Point] = deque(maxlen=params.lookback_snapshots)
        self.event: WideEvent | None = None
        self.sell = Hysteresis()

    @property
    def feeds(self) -> frozenset[Feed]:
        return frozenset({Feed.DEPTH})

    @property
    def warm_up_ms(self) -> int:
        return 0  # counted in snapshots: ``evaluable``

    @property
    def evaluable(self) -> bool:
        return len(self.points) == self.params.lookback_snapshots

    def on_event(self, event: MarketEvent) -> Decision | None:
        assert isinstance(event, BookSnapshot)
        p = self.params
        spread_bps = event.spread_bps
        depth = sum(event.bid_qtys[:DEPTH_LEVELS]) + sum(event.ask_qtys[:DEPTH_LEVELS])
        self.points.append(Point(event.time_ms, spread_bps, depth))
        if not self.evaluable:
            return None
        points = self.points
        earlier = len(points) - 1
        mean_spread = sum(pt.spread_bps for pt in points) - spread_bps
        mean_depth = sum(pt.depth for pt in points) - depth
        ratio = spread_bps / (mean_spread / earlier)
        depth_drop = 1 - depth / (mean_depth / earlier) if mean_depth > 0 else 0.0
        oldest = points[0]
        elapsed_s = (event.time_ms - oldest.time_ms) / MS
        if elapsed_s <= 0:
            return None
        velocity = (spread_bps - oldest.spread_bps) / oldest.spread_bps / elapsed_s
        now = event.time_ms
        if self.event is not None and now - self.event.started_ms > p.max_event_age_s * MS:
            self.event = None
        if ratio > p.spread_ratio_threshold and spread_bps > p.spread_threshold_bps:
            if self.event is None:
                self.event = WideEvent(now, ratio)
            else:
                self.event.peak_ratio = max(self.event.peak_ratio, ratio)
        inputs = {
            "spread_bps": spread_bps,
            "ratio": ratio,
            "velocity": velocity,
            "depth5": depth,
            "depth_drop": depth_drop,
        }
        sell = self.sell.step(
            trigger=velocity > p.velocity_threshold
            and ratio > p.sell_ratio_threshold
            and depth_drop > p.min_depth_reduction,
            rearm=ratio <= p.spread_ratio_threshold,
        )
        if sell:
            confidence = p.base_confidence + p.velocity_weight * velocity
            confidence += p.depth_weight * depth_drop
            return self._decision(event, Side.SELL, confidence, inputs)
        wide = self.event
        if (
            wide is not None
            and now - wide.started_ms > p.persistence_s * MS
            and velocity < -p.velocity_threshold
            and ratio < p.spread_ratio_threshold
        ):
            self.event = None
            age_s = (now - wide.started_ms) / MS
            confidence = p.base_confidence + p.peak_weight * (
                wide.peak_ratio - p.spread_ratio_threshold
            )
            confidence += min(p.age_bonus, p.age_bonus * age_s / p.age_full_s)
            extra = {"peak_ratio": wide.peak_ratio, "event_age_s": age_s}
            return self._decision(event, Side.BUY, confidence, {**inputs, **extra})
        return None

    def _decision(
        self, book: BookSnapshot, side: Side, confidence: float, inputs: dict[str, float]
    ) -> Decision:
        p = self.params
        mid = book.mid
        distance = max(p.spread_multiple * book.spread, p.stop_floor * mid)
        return Decision(
            side,
            mid,
            mid - side * distance,
            mid + side * 2 * distance,
            min(p.confidence_cap, confidence),
            {**inputs, "stop_distance": distance},
        )
