"""Aggregate trades of a minute, synthesised from (and consistent with) its candle.

A minute with ``A`` aggregate trades gets them at sorted random milliseconds, ids counting
up from the minute's first id. The first trades at the open, the last at the close, two
others at the high and the low; the rest wander between those anchors inside [low, high].
Taker buys and sells share the minute's buy and sell volumes and trade counts exactly, so
the trades of a minute add up to its candle (quote volume aside: it is the candle's own
figure, the trades' price x quantity only approximates it).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Self

import numpy as np
from numpy.typing import NDArray

from petrosa.exchange.simulator.bars import ADDITIVE, Bars, Ints
from petrosa.exchange.simulator.market import MINUTE_MS, Level, SyntheticMarket
from petrosa.exchange.simulator.noise import normal, uniform
from petrosa.exchange.simulator.tree import split_total

PRICE_WANDER = 0.2
"""Spread of non-anchor trade prices, relative to the minute's range."""
COUNT_NOISE = 0.5
"""Log-normal spread of how many individual trades one aggregate trade holds."""
SIZE_NOISE = 0.8
"""Log-normal spread of aggregate trade quantities."""
ANCHORS = 4
"""Open, high, low and close each get a trade of their own."""


@dataclass(frozen=True)
class AggTrades:
    """Aggregate trades as columns, in id (and time) order."""

    id: Ints
    price: Ints
    """Ticks."""
    qty: Ints
    """Lots."""
    first_trade_id: Ints
    last_trade_id: Ints
    time: Ints
    buyer_maker: NDArray[np.bool_]
    """True when the taker sold (Binance's ``m``)."""

    def __len__(self) -> int:
        return int(self.id.shape[0])

    def take(self, index: slice | Ints | NDArray[np.bool_]) -> Self:
        return replace(self, **{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @classmethod
    def concat(cls, parts: list[AggTrades]) -> AggTrades:
        """``parts`` one after the other (an empty list gives no trades)."""
        if not parts:
            parts = [_no_trades()]
        return AggTrades(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )


def _no_trades() -> AggTrades:
    ints = np.zeros(0, dtype=np.int64)
    return AggTrades(ints, ints, ints, ints, ints, ints, np.zeros(0, dtype=np.bool_))


def _prices(market: SyntheticMarket, bar: Bars, ids: Ints) -> Ints:
    count = len(ids)
    minute = int(bar.start[0]) // MINUTE_MS
    pick = uniform(market.stream("trade:anchor"), [2 * minute, 2 * minute + 1])
    at_high = 1 + int(pick[0] * (count - 2))
    at_low = 1 + int(pick[1] * (count - 3))
    if at_low >= at_high:
        at_low += 1
    low, high = int(bar.low[0]), int(bar.high[0])
    knots = {0: int(bar.open[0]), at_high: high, at_low: low, count - 1: int(bar.close[0])}
    xs = np.array(sorted(knots))
    path = np.interp(np.arange(count), xs, [knots[x] for x in xs])
    path += normal(market.stream("trade:price"), ids) * (high - low) * PRICE_WANDER
    prices = np.clip(np.rint(path).astype(np.int64), low, high)
    prices[xs] = [knots[x] for x in xs]
    return prices


def _shares(total: int, draws: NDArray[np.float64]) -> Ints:
    """``total`` split over as many parts as there are draws, by log-normal weights."""
    shares: Ints = split_total(np.array([total], dtype=np.int64), np.exp(draws)[None, :])[0]
    return shares


def minute_trades(market: SyntheticMarket, bar: Bars) -> AggTrades:
    """All aggregate trades of the one-minute ``bar``, as a running scenario edits them
    (drawn from the tree's own minute: the edited candle only sums them up)."""
    start = int(bar.start[0])
    overlay = market.overlay
    if overlay is None or not overlay.edits_trades(start, start + MINUTE_MS):
        return _drawn_trades(market, bar)
    minute = start // MINUTE_MS
    tree_bar = market.tree_nodes(Level.MINUTE, minute, minute + 1)
    return overlay.edit_trades(_drawn_trades(market, tree_bar))


def _drawn_trades(market: SyntheticMarket, bar: Bars) -> AggTrades:
    """The trades the tree's minute ``bar`` holds."""
    count = int(bar.aggs[0])
    if count < ANCHORS:
        raise ValueError("a minute needs at least 4 aggregate trades")
    ids = int(bar.first_agg_id[0]) + np.arange(count, dtype=np.int64)
    offsets = np.sort(np.floor(uniform(market.stream("trade:time"), ids) * MINUTE_MS))
    order = np.argsort(uniform(market.stream("trade:side"), ids), kind="stable")
    is_buy = np.zeros(count, dtype=np.bool_)
    is_buy[order[: int(bar.aggs_buy[0])]] = True
    trades = np.ones(count, dtype=np.int64)
    lots = np.zeros(count, dtype=np.int64)
    for side, mask in (("buy", is_buy), ("sell", ~is_buy)):
        side_ids = ids[mask]
        extra = int(getattr(bar, f"extra_{side}")[0])
        spare = int(getattr(bar, f"lots_{side}")[0])
        count_draws = normal(market.stream("trade:count"), side_ids)
        size_draws = normal(market.stream("trade:size"), side_ids)
        trades[mask] += _shares(extra, COUNT_NOISE * count_draws)
        lots[mask] = _shares(spare, SIZE_NOISE * size_draws)
    first = int(bar.first_trade_id[0]) + np.cumsum(trades) - trades
    return AggTrades(
        id=ids,
        price=_prices(market, bar, ids),
        qty=trades + lots,
        first_trade_id=first,
        last_trade_id=first + trades - 1,
        time=int(bar.start[0]) + offsets.astype(np.int64),
        buyer_maker=~is_buy,
    )


def partial_minute(market: SyntheticMarket, bar: Bars, now: int) -> Bars:
    """The one-minute ``bar`` as it stands at ``now``: made of its trades up to ``now``."""
    trades = minute_trades(market, bar)
    done = trades.take(trades.time <= now)
    if len(done) == 0:
        flat = bar.open
        zero = np.zeros(1, dtype=np.int64)
        return replace(bar, high=flat, low=flat, close=flat, **{name: zero for name in ADDITIVE})
    columns: dict[str, Ints] = {}
    for side, mask in (("buy", ~done.buyer_maker), ("sell", done.buyer_maker)):
        count = int(mask.sum())
        individual = int((done.last_trade_id[mask] - done.first_trade_id[mask] + 1).sum())
        volume = int(done.qty[mask].sum())
        full_volume = int(getattr(bar, f"volume_{side}")[0])
        full_quote = int(getattr(bar, f"quote_{side}")[0])
        columns[f"aggs_{side}"] = np.array([count])
        columns[f"extra_{side}"] = np.array([individual - count])
        columns[f"lots_{side}"] = np.array([volume - individual])
        # a scenario may leave a side without trades for a whole minute
        quote = full_quote * volume // full_volume if full_volume else 0
        columns[f"quote_{side}"] = np.array([quote])
    return replace(
        bar,
        high=np.array([done.price.max()]),
        low=np.array([done.price.min()]),
        close=done.price[-1:],
        **columns,
    )
