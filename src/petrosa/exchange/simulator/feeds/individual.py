"""The individual trades inside aggregate trades (spot's ``@trade`` stream).

The simulator's tape is aggregate trades: each covers the trade ids ``f..l`` at one price,
one time and one taker side, with a quantity of at least one lot per trade. Binance's
individual trades of one aggregate trade share all of that and split its quantity, so here
each trade gets one lot plus a share of the remaining lots by seeded log-normal weights
(largest remainders: the shares add up to the aggregate quantity exactly). The draws are
keyed by trade id, so a trade's quantity never depends on how the tape was read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from petrosa.exchange.simulator.bars import Ints
from petrosa.exchange.simulator.market import SyntheticMarket
from petrosa.exchange.simulator.noise import normal
from petrosa.exchange.simulator.trades import AggTrades

SPLIT_NOISE = 0.8
"""Log-normal spread of the individual trades' shares of an aggregate trade."""


@dataclass(frozen=True)
class Trades:
    """Individual trades as columns, in id order."""

    id: Ints
    price: Ints
    """Ticks."""
    qty: Ints
    """Lots."""
    time: Ints
    buyer_maker: NDArray[np.bool_]
    agg_index: Ints
    """Row of the aggregate trade each one belongs to."""

    def __len__(self) -> int:
        return int(self.id.shape[0])


def individual_trades(market: SyntheticMarket, aggs: AggTrades) -> Trades:
    """Every individual trade of ``aggs``."""
    sizes = aggs.last_trade_id - aggs.first_trade_id + 1
    owner = np.repeat(np.arange(len(aggs), dtype=np.int64), sizes)
    starts = np.cumsum(sizes) - sizes
    position = np.arange(owner.shape[0], dtype=np.int64) - starts[owner]
    ids = aggs.first_trade_id[owner] + position
    weights = np.exp(SPLIT_NOISE * normal(market.stream("trade:split"), ids))
    spare = aggs.qty - sizes  # lots beyond one per trade
    qty = 1 + _split(spare, weights, owner, starts)
    return Trades(
        id=ids,
        price=aggs.price[owner],
        qty=qty,
        time=aggs.time[owner],
        buyer_maker=aggs.buyer_maker[owner],
        agg_index=owner,
    )


def _split(totals: Ints, weights: NDArray[np.float64], owner: Ints, starts: Ints) -> Ints:
    """Each group's total shared over its members by weight, by largest remainders."""
    if owner.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    group_weight = np.add.reduceat(weights, starts)
    raw = totals[owner] * (weights / group_weight[owner])
    shares = np.floor(raw).astype(np.int64)
    left = totals - np.add.reduceat(shares, starts)
    # within each group, members with the largest fractions get one more lot each
    order = np.lexsort((shares - raw, owner))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0]) - starts[owner[order]]
    result: Ints = shares + (rank < left[owner])
    return result
