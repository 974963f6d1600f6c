"""``Bars``: a run of candles as columns of integers, and the exact ways to combine them.

Prices are integer ticks and quantities integer lots (quote amounts integer tick x lot
units), so sums of children equal their parent exactly and the decimal strings served are
exact. Volumes are kept per taker side and per "kind" so that every derived figure of a
kline, and the aggregate trades of a minute, follow from the same integers::

    trades of a side       = aggs + extra             (an aggregate trade holds >= 1 trade)
    base volume of a side  = trades + lots            (a trade moves >= 1 lot)
    taker buy volume       = the buy side's base volume
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Self

import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.int64]

ADDITIVE = (
    "aggs_buy",
    "aggs_sell",
    "extra_buy",
    "extra_sell",
    "lots_buy",
    "lots_sell",
    "quote_buy",
    "quote_sell",
)
"""Columns that add up when candles are merged."""


@dataclass(frozen=True)
class Bars:
    """Candles (or tree nodes) as parallel integer columns, in time order."""

    start: Ints
    """Open time, epoch ms."""
    open: Ints
    high: Ints
    low: Ints
    close: Ints
    aggs_buy: Ints
    """Aggregate trades whose taker bought."""
    aggs_sell: Ints
    extra_buy: Ints
    """Individual trades beyond one per aggregate trade, taker buying."""
    extra_sell: Ints
    lots_buy: Ints
    """Lots beyond one per individual trade, taker buying."""
    lots_sell: Ints
    quote_buy: Ints
    """Quote volume of taker buys, in tick x lot units."""
    quote_sell: Ints
    first_agg_id: Ints
    """Id of the first aggregate trade inside the bar."""
    first_trade_id: Ints
    """Id of the first individual trade inside the bar."""

    def __len__(self) -> int:
        return int(self.start.shape[0])

    @property
    def trades_buy(self) -> Ints:
        return self.aggs_buy + self.extra_buy

    @property
    def trades_sell(self) -> Ints:
        return self.aggs_sell + self.extra_sell

    @property
    def trades(self) -> Ints:
        """Number of individual trades (kline field 8)."""
        return self.trades_buy + self.trades_sell

    @property
    def aggs(self) -> Ints:
        return self.aggs_buy + self.aggs_sell

    @property
    def volume_buy(self) -> Ints:
        """Taker buy base volume in lots (kline field 9)."""
        return self.trades_buy + self.lots_buy

    @property
    def volume_sell(self) -> Ints:
        return self.trades_sell + self.lots_sell

    @property
    def volume(self) -> Ints:
        """Base volume in lots (kline field 5)."""
        return self.volume_buy + self.volume_sell

    @property
    def quote(self) -> Ints:
        """Quote volume in tick x lot units (kline field 7)."""
        return self.quote_buy + self.quote_sell

    def take(self, index: slice | Ints | NDArray[np.bool_]) -> Self:
        """The bars selected by a slice, an index array or a mask."""
        return replace(self, **{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @classmethod
    def concat(cls, parts: list[Bars]) -> Bars:
        """The bars of ``parts`` one after the other (``parts`` must not be empty)."""
        return Bars(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Bars)}
        )

    def merge_groups(self, group_starts: Ints) -> Bars:
        """One bar per group of consecutive bars; ``group_starts`` are the groups' first rows.

        Open of the first, close of the last, highest high, lowest low, sums of volumes
        and counts; ids of the first.
        """
        ends = np.append(group_starts[1:], len(self)) - 1
        sums = {name: np.add.reduceat(getattr(self, name), group_starts) for name in ADDITIVE}
        return Bars(
            start=self.start[group_starts],
            open=self.open[group_starts],
            high=np.maximum.reduceat(self.high, group_starts),
            low=np.minimum.reduceat(self.low, group_starts),
            close=self.close[ends],
            first_agg_id=self.first_agg_id[group_starts],
            first_trade_id=self.first_trade_id[group_starts],
            **sums,
        )

    def merged(self) -> Bars:
        """All bars merged into one."""
        return self.merge_groups(np.zeros(1, dtype=np.int64))


def empty_bars() -> Bars:
    """No bars at all."""
    nothing = np.zeros(0, dtype=np.int64)
    return Bars(**{f.name: nothing for f in fields(Bars)})
