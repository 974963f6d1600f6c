"""An order book as a client keeps it: [price, quantity] levels by price, diff events applied
the way Binance documents (absolute quantities; a zero quantity removes the level)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from petrosa.exchange.simulator.book import DepthChanges

Side = dict[str, str]
"""Quantity by price, both as the exchange wrote them."""
Book = tuple[Side, Side]
"""(bids, asks)."""


def book_of(bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> Book:
    """A book from a snapshot's levels (REST lists or ``DepthSnapshot`` tuples)."""
    return {p: q for p, q in bids}, {p: q for p, q in asks}


def replay(book: Book, changes: DepthChanges) -> Book:
    """``book`` after one diff event."""
    bids, asks = dict(book[0]), dict(book[1])
    for side, levels in ((bids, changes.bids), (asks, changes.asks)):
        for price, qty in levels:
            if Decimal(qty) == 0:
                side.pop(price, None)
            else:
                side[price] = qty
    return bids, asks
