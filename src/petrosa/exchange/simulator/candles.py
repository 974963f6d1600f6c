"""Klines as Binance serves them at a moment ``now``: which candles a request selects, and
each one aggregated from the tree (the last one, still open, only up to ``now``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from petrosa.contracts.market import Interval
from petrosa.exchange.simulator.bars import Bars, Ints, empty_bars
from petrosa.exchange.simulator.grid import INTERVAL_LEVEL, CandleGrid
from petrosa.exchange.simulator.market import FANOUT, LEVEL_MS, Level, SyntheticMarket
from petrosa.exchange.simulator.trades import partial_minute


@dataclass(frozen=True)
class Klines:
    """Selected candles: their bars (open times are the candles') and close times."""

    bars: Bars
    close_time: Ints

    def __len__(self) -> int:
        return len(self.bars)


@dataclass(frozen=True)
class KlineQuery:
    """A klines request: ``start``/``end`` inclusive epoch ms, as on Binance."""

    interval: Interval
    start: int | None
    end: int | None
    limit: int


def select(grid: CandleGrid, query: KlineQuery, *, first_ms: int, now: int) -> range:
    """Indices of the candles a request returns.

    Candles open between the listing's candle and the one holding ``now``; with
    ``startTime`` the first ``limit`` from there, otherwise the last ``limit`` up to
    ``endTime`` (or now).
    """
    if now < first_ms:
        return range(0)
    first, last = grid.index_of(first_ms), grid.index_of(now)
    if query.end is not None:
        last = min(last, grid.index_of(query.end))
    if query.start is not None:
        lo = max(first, grid.ceil_index(query.start))
        return range(lo, min(last, lo + query.limit - 1) + 1)
    return range(max(first, last - query.limit + 1), last + 1)


def klines(market: SyntheticMarket, query: KlineQuery, now: int) -> Klines:
    """The klines ``query`` selects at ``now`` (the candle holding ``now`` partial)."""
    grid = CandleGrid(query.interval)
    first_ms = market.first_index(Level.DAY) * LEVEL_MS[Level.DAY]
    chosen = select(grid, query, first_ms=first_ms, now=now)
    if len(chosen) == 0:
        return Klines(empty_bars(), np.zeros(0, dtype=np.int64))
    edges = grid.starts(chosen.start, chosen.stop)
    level = INTERVAL_LEVEL[query.interval]
    length = LEVEL_MS[level]
    closed_stop = min(int(edges[-1]), now) // length
    parts = [market.nodes(level, int(edges[0]) // length, closed_stop)]
    if edges[-1] > now:
        parts.append(partial_node(market, level, now // length, now))
    nodes = Bars.concat(parts)
    group = np.searchsorted(edges, nodes.start, side="right") - 1
    group_starts = np.flatnonzero(np.diff(group, prepend=-1))
    merged = nodes.merge_groups(group_starts)
    used = group[group_starts]
    bars = replace(merged, start=edges[used])
    return Klines(bars, edges[used + 1] - 1)


def partial_node(market: SyntheticMarket, level: Level, index: int, now: int) -> Bars:
    """Node ``index`` of ``level`` as it stands at ``now``: closed children plus the
    partial one, down to the minute, whose trades up to ``now`` make it."""
    if level is Level.MINUTE:
        return partial_minute(market, market.nodes(Level.MINUTE, index, index + 1), now)
    child = Level(level - 1)
    now_child = now // LEVEL_MS[child]
    closed = market.nodes(child, index * FANOUT[level], now_child)
    return Bars.concat([closed, partial_node(market, child, now_child, now)]).merged()
