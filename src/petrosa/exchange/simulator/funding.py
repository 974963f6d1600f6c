"""Funding rates of the perpetual futures: every 8 hours at 00:00, 08:00 and 16:00 UTC.

The rate leans with the last 8 hours' move (longs pay more after a rise) around Binance's
usual 0.01 %, plus seeded noise; the mark price is the price at the funding time, i.e. the
open of the 1-minute (and 1-hour) candle starting then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from petrosa.exchange.simulator.bars import Ints
from petrosa.exchange.simulator.market import LEVEL_MS, Level, SyntheticMarket
from petrosa.exchange.simulator.noise import normal

FUNDING_INTERVAL_MS = 8 * LEVEL_MS[Level.HOUR]
HOURS_PER_FUNDING = FUNDING_INTERVAL_MS // LEVEL_MS[Level.HOUR]
RATE_DECIMALS = 8
BASE_RATE = 0.0001
MOMENTUM = 0.01
"""Rate added per unit of the last 8 hours' relative price change."""
RATE_NOISE = 0.00005
RATE_CAP = 0.003


@dataclass(frozen=True)
class FundingRates:
    """Funding events: times (epoch ms), rates in 1e-8 units, mark prices in ticks."""

    time: Ints
    rate: Ints
    mark: Ints

    def __len__(self) -> int:
        return int(self.time.shape[0])


def select(first_ms: int, *, start: int | None, end: int | None, limit: int, now: int) -> range:
    """Indices (time / 8 h) of the funding events a request returns, ascending: from
    ``start`` the first ``limit``, otherwise the last ``limit`` up to ``end`` or now."""
    first = -(-first_ms // FUNDING_INTERVAL_MS)
    last = now // FUNDING_INTERVAL_MS
    if end is not None:
        last = min(last, end // FUNDING_INTERVAL_MS)
    if start is not None:
        lo = max(first, -(-start // FUNDING_INTERVAL_MS))
        return range(lo, min(last, lo + limit - 1) + 1)
    return range(max(first, last - limit + 1), last + 1)


def funding_rates(market: SyntheticMarket, events: range) -> FundingRates:
    """The funding events with the given indices (time / 8 h)."""
    if len(events) == 0:
        nothing = np.zeros(0, dtype=np.int64)
        return FundingRates(nothing, nothing, nothing)
    index = np.arange(events.start, events.stop, dtype=np.int64)
    first_hour = (events.start - 1) * HOURS_PER_FUNDING
    hours = market.nodes(Level.HOUR, first_hour, (events.stop - 1) * HOURS_PER_FUNDING + 1)
    opens = dict(zip(hours.start.tolist(), hours.open.tolist(), strict=True))
    times = index * FUNDING_INTERVAL_MS
    mark = np.array([opens[t] for t in times.tolist()], dtype=np.int64)
    before = np.array(
        [opens.get(t - FUNDING_INTERVAL_MS, opens[t]) for t in times.tolist()], dtype=np.int64
    )
    move = (mark - before) / before
    noise = normal(market.stream("funding"), index) * RATE_NOISE
    rate = np.clip(BASE_RATE + MOMENTUM * move + noise, -RATE_CAP, RATE_CAP)
    return FundingRates(times, np.rint(rate * 10**RATE_DECIMALS).astype(np.int64), mark)
