"""Candles of a market whose trades a scenario edits: every node (minute, quarter, hour,
day) that holds an edited trade is summed up again from its children, down to the minutes,
which are summed from their edited trades. Nodes that hold none stay the tree's own, so a
long klines request rebuilds only the few nodes the scenario touches."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from petrosa.exchange.simulator.bars import Bars
from petrosa.exchange.simulator.market import FANOUT, LEVEL_MS, MINUTE_MS, Level, SyntheticMarket
from petrosa.exchange.simulator.trades import AggTrades, minute_trades

Touches = Callable[[int, int], bool]
"""Whether trades with time in [first_ms, stop_ms) may be edited."""


def edit_nodes(market: SyntheticMarket, level: Level, nodes: Bars, touches: Touches) -> Bars:
    """``nodes`` with each one holding edited trades rebuilt from them."""
    length = LEVEL_MS[level]
    starts = nodes.start.tolist()
    hit = [touches(start, start + length) for start in starts]
    if not any(hit):
        return nodes
    parts = [
        _rebuilt(market, level, start, touches) if touched else nodes.take(slice(row, row + 1))
        for row, (start, touched) in enumerate(zip(starts, hit, strict=True))
    ]
    return Bars.concat(parts)


def _rebuilt(market: SyntheticMarket, level: Level, start: int, touches: Touches) -> Bars:
    if level is Level.MINUTE:
        minute = start // MINUTE_MS
        tree = market.tree_nodes(Level.MINUTE, minute, minute + 1)
        return summed(tree, minute_trades(market, tree))
    child = Level(level - 1)
    first = start // LEVEL_MS[child]
    children = market.tree_nodes(child, first, first + FANOUT[level])
    return edit_nodes(market, child, children, touches).merged()


def summed(tree: Bars, trades: AggTrades) -> Bars:
    """A minute candle made of ``trades`` (ids from the tree's minute ``tree``).

    The open stays the tree's: it is the price before the minute's first trade (the last
    price a reader gets until then, and the book's anchor), so a scenario starting inside
    the minute must not change it; high and low include it, as they always do."""
    columns: dict[str, np.ndarray] = {}
    for side, mask in (("buy", ~trades.buyer_maker), ("sell", trades.buyer_maker)):
        aggs = int(mask.sum())
        individual = int((trades.last_trade_id[mask] - trades.first_trade_id[mask] + 1).sum())
        volume = int(trades.qty[mask].sum())
        columns[f"aggs_{side}"] = np.array([aggs])
        columns[f"extra_{side}"] = np.array([individual - aggs])
        columns[f"lots_{side}"] = np.array([volume - individual])
        columns[f"quote_{side}"] = np.array([int((trades.price[mask] * trades.qty[mask]).sum())])
    return Bars(
        start=tree.start,
        open=tree.open,
        high=np.maximum(tree.open, trades.price.max()),
        low=np.minimum(tree.open, trades.price.min()),
        close=trades.price[-1:],
        first_agg_id=tree.first_agg_id,
        first_trade_id=tree.first_trade_id,
        **columns,
    )
