"""``iceberg_detector`` (STRATEGIES.md 4.3): a resting order that refills, or stays, at one price.

Each (side, price) within ±1 % of mid keeps its last 100 observed quantities, its last
three observations, its refills of the last 300 s and when its continuous presence began.
A level is absent only when a snapshot's price range on its side covers its price and it is
missing (that observation is a quantity of 0); leaving the top 20 because the price moved
is not absence. Levels unseen for 300 s are forgotten, and at most ``max_levels`` are kept.

Per present level, the first match: refills (≥ 3 in 300 s; they decay, unlike before) →
0.65 + 0.05·count up to 0.85; a consistent size (variation < 0.1 over ≥ 10 observations,
present > 120 s, ≥ 3 × the side's median top-20 quantity) → 0.70; an anchor (present
> 180 s, the same size floor) → 0.75. The best level (tie: nearest to mid) decides, once
per level until it has stopped qualifying for ``rearm_s`` (a size flickering around the
floor is the same order), with a cooldown per (side, price).
"""

from __future__ import annotations

import bisect
import math
import statistics
from array import array
from collections import deque
from dataclasses import dataclass, field

from pydantic import Field

from petrosa.realtime.events import BookSnapshot, Feed, MarketEvent
from petrosa.realtime.risk import RiskUnit
from petrosa.realtime.strategy import MS, Decision, RealtimeParams, RealtimeStrategy, Side

SWEEP_MS = 1_000
REFILLS_KEPT = 64  # confidence saturates at 4 refills; the count needs no more


class IcebergParams(RealtimeParams):
    min_refill_count: int = Field(3, ge=1)
    refill_window_s: float = Field(5.0, gt=0, description="q0…q2 within this span")
    refill_drop: float = Field(0.5, gt=0, lt=1, description="q1 < drop × q0")
    refill_recovery: float = Field(0.8, gt=0, description="q2 > recovery × q0")
    max_variation: float = Field(0.1, gt=0, description="coefficient of variation")
    min_observations: int = Field(10, ge=2)
    observations_kept: int = Field(100, ge=10, le=1_000)
    consistent_min_s: float = Field(120.0, ge=0)
    anchor_min_s: float = Field(180.0, ge=0)
    level_proximity: float = Field(0.01, gt=0, lt=1, description="± fraction of mid")
    history_window_s: float = Field(300.0, gt=0, description="refill count and forgetting")
    min_size_multiple: float = Field(3.0, ge=0, description="× median top-20 qty of the side")
    max_levels: int = Field(2_000, ge=10, description="memory bound of tracked levels")
    rearm_s: float = Field(30.0, ge=0, description="a fired level re-arms after this lull")
    cooldown_s: float = Field(120.0, ge=0, le=86_400, description="per (side, price)")
    refill_base: float = Field(0.65, ge=0, le=1)
    refill_step: float = Field(0.05, ge=0, le=1)
    refill_cap: float = Field(0.85, ge=0, le=1)
    consistent_confidence: float = Field(0.70, ge=0, le=1)
    anchor_confidence: float = Field(0.75, ge=0, le=1)
    stop_floor: float = Field(0.005, gt=0, description="minimum distance, × mid")
    target_multiple: float = Field(2.5, gt=0, description="TP = mid ± multiple × distance")


@dataclass(slots=True)
class Level:
    """One tracked (side, price). Kept small: a busy symbol tracks a few thousand of them,
    so the last two observations are plain fields, the refill times exist only once there
    was a refill, and the sizes are single precision (only their variation is read)."""

    side: Side
    price: float
    size: float = 0.0
    present_since: int | None = None
    present_count: int = 0
    last_seen: int = 0
    armed: bool = True
    """A new level has never been signalled (after a restart the warm-up, in which levels
    fire unpublished, disarms those its predecessor signalled)."""
    quiet_since: int | None = None
    observed: int = 0
    t0: int = 0
    q0: float = 0.0
    t1: int = 0
    q1: float = 0.0
    refills: deque[int] | None = None
    sizes: array[float] = field(default_factory=lambda: array("f"))
    cursor: int = 0

    def refill_count(self, horizon: float) -> int:
        refills = self.refills
        if refills is None:
            return 0
        while refills and refills[0] <= horizon:
            refills.popleft()
        return len(refills)


class IcebergDetector(RealtimeStrategy[IcebergParams]):
    id = "iceberg_detector"
    version = 1
    params_type = IcebergParams
    summary = "a bid or ask level that refills or persists, well above the book's sizes"

    def __init__(self, params: IcebergParams, risk: RiskUnit) -> None:
        super().__init__(params, risk)
        self.levels: dict[tuple[Side, float], Level] = {}
        self.prices: dict[Side, list[float]] = {Side.BUY: [], Side.SELL: []}
        self.next_sweep_ms: int | None = None
        self.first_ms: int | None = None
        self.last_ms = 0

    @property
    def feeds(self) -> frozenset[Feed]:
        return frozenset({Feed.DEPTH})

    @property
    def warm_up_ms(self) -> int:
        return round(self.params.history_window_s * MS)

    @property
    def evaluable(self) -> bool:
        return True  # time alone: ``warm_up_ms``

    def on_event(self, event: MarketEvent) -> Decision | None:
        assert isinstance(event, BookSnapshot)
        p = self.params
        now, mid = event.time_ms, event.mid
        low, high = mid * (1 - p.level_proximity), mid * (1 + p.level_proximity)
        present: list[Level] = []
        for side, prices, qtys in (
            (Side.BUY, event.bid_prices, event.bid_qtys),
            (Side.SELL, event.ask_prices, event.ask_qtys),
        ):
            seen = set(prices)
            for price, qty in zip(prices, qtys, strict=True):
                if low <= price <= high:
                    present.append(self._observe(side, price, qty, now))
            if prices:
                self._absent(side, min(prices), max(prices), seen, now)
        if self.next_sweep_ms is None or now >= self.next_sweep_ms:
            self._forget(now)
            self.next_sweep_ms = now + SWEEP_MS
        medians = {
            Side.BUY: statistics.median(event.bid_qtys) if event.bid_qtys else math.inf,
            Side.SELL: statistics.median(event.ask_qtys) if event.ask_qtys else math.inf,
        }
        best: tuple[float, float, Level, str] | None = None
        for level in present:
            found = self._classify(level, now, medians[level.side])
            if found is None:
                # Re-arm only after a lasting lull: a size flickering around the floor
                # is the same order, not a new one.
                if level.quiet_since is None:
                    level.quiet_since = now
                elif now - level.quiet_since >= p.rearm_s * MS:
                    level.armed = True
                continue
            level.quiet_since = None
            confidence, kind = found
            rank = (confidence, -abs(level.price - mid))
            if best is None or rank > best[:2]:
                best = (*rank, level, kind)
        if best is None or not best[2].armed:
            return None
        confidence, _, level, kind = best
        level.armed = False
        return self._decision(level, mid, confidence, kind, now)

    def _observe(self, side: Side, price: float, qty: float, now: int) -> Level:
        level = self.levels.get((side, price))
        if level is None:
            level = self.levels[(side, price)] = Level(side, price)
            bisect.insort(self.prices[side], price)
        if level.present_since is None:
            level.present_since, level.present_count = now, 0
        level.present_count += 1
        level.last_seen = now
        self._record(level, qty, now)
        return level

    def _absent(self, side: Side, low: float, high: float, seen: set[float], now: int) -> None:
        """Tracked levels inside the snapshot's range on this side but missing: gone."""
        prices = self.prices[side]
        for price in prices[bisect.bisect_left(prices, low) : bisect.bisect_right(prices, high)]:
            if price in seen:
                continue
            level = self.levels[(side, price)]
            if level.present_since is not None:
                level.present_since = None
                self._record(level, 0.0, now)

    def _record(self, level: Level, qty: float, now: int) -> None:
        p = self.params
        level.size = qty
        keep = p.observations_kept
        if len(level.sizes) < keep:
            level.sizes.append(qty)
        else:
            level.sizes[level.cursor] = qty
        level.cursor = (level.cursor + 1) % keep
        # The last three observations (q0, q1, now): eaten below half, back above 80 %.
        if (
            level.observed >= 2
            and now - level.t0 <= p.refill_window_s * MS
            and level.q1 < p.refill_drop * level.q0
            and qty > p.refill_recovery * level.q0
        ):
            if level.refills is None:
                level.refills = deque(maxlen=REFILLS_KEPT)
            level.refills.append(now)
        level.t0, level.q0, level.t1, level.q1 = level.t1, level.q1, now, qty
        level.observed += 1

    def _classify(self, level: Level, now: int, median: float) -> tuple[float, str] | None:
        p = self.params
        count = level.refill_count(now - p.history_window_s * MS)
        if count >= p.min_refill_count:
            return min(p.refill_cap, p.refill_base + p.refill_step * count), "refill"
        if level.present_since is None or level.size < p.min_size_multiple * median:
            return None
        present_ms = now - level.present_since
        if present_ms > p.consistent_min_s * MS and self._consistent(level):
            return p.consistent_confidence, "consistent"
        if present_ms > p.anchor_min_s * MS:
            return p.anchor_confidence, "anchor"
        return None

    def _consistent(self, level: Level) -> bool:
        """Coefficient of variation of the sizes seen during the current presence."""
        p = self.params
        count = min(level.present_count, len(level.sizes))
        if count < p.min_observations:
            return False
        sizes = level.sizes
        start = level.cursor - count
        window = [sizes[i] for i in range(start, level.cursor)]  # negative indexes wrap
        mean = sum(window) / count
        if mean <= 0:
            return False
        variance = sum((x - mean) ** 2 for x in window) / count
        return math.sqrt(variance) / mean < p.max_variation

    def _forget(self, now: int) -> None:
        p = self.params
        horizon = now - p.history_window_s * MS
        stale = [key for key, level in self.levels.items() if level.last_seen < horizon]
        excess = len(self.levels) - len(stale) - p.max_levels
        if excess > 0:
            kept = sorted(
                (lv for lv in self.levels.values() if lv.last_seen >= horizon),
                key=lambda lv: (lv.last_seen, lv.price),
            )
            stale.extend((lv.side, lv.price) for lv in kept[:excess])
        for side, price in stale:
            del self.levels[(side, price)]
            prices = self.prices[side]
            del prices[bisect.bisect_left(prices, price)]

    def _decision(
        self, level: Level, mid: float, confidence: float, kind: str, now: int
    ) -> Decision:
        p = self.params
        side = level.side
        distance = max(abs(mid - level.price), p.stop_floor * mid)
        inputs: dict[str, float | int | str] = {
            "level_price": level.price,
            "level_size": level.size,
            "refills": 0 if level.refills is None else len(level.refills),
            "present_s": 0.0 if level.present_since is None else (now - level.present_since) / MS,
            "match": kind,
            "stop_distance": distance,
        }
        return Decision(
            side,
            mid,
            level.price - side * distance,
            mid + side * p.target_multiple * distance,
            confidence,
            inputs,
            (side.action, level.price),
        )
