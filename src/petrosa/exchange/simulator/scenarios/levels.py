"""Edits of one side of a book (``book_levels.Levels``, best level first): set one price's
quantity, drop levels past a price, scale the best levels. Each keeps the side's order and
never adds to its number of levels, so a scenario's book is as deep as a quiet one."""

from __future__ import annotations

import numpy as np

from petrosa.exchange.simulator.bars import Ints
from petrosa.exchange.simulator.book_levels import Levels, Side


def _order_key(side: Side, price: Ints | int) -> Ints:
    """Prices as an ascending key in the side's best-first order."""
    return np.asarray(price, dtype=np.int64) * int(side)


def with_level(levels: Levels, side: Side, price: int, qty: int) -> Levels:
    """``levels`` with ``qty`` resting at ``price`` (inserted in order if absent; the
    deepest level gives way so the side keeps its length)."""
    found = np.flatnonzero(levels.price == price)
    if found.size:
        sizes = levels.qty.copy()
        sizes[int(found[0])] = qty
        return Levels(levels.price, sizes)
    count = len(levels.price)
    at = int(np.searchsorted(_order_key(side, levels.price), _order_key(side, price)))
    if at >= count:
        return levels
    prices = np.insert(levels.price, at, price)[:count]
    sizes = np.insert(levels.qty, at, qty)[:count]
    return Levels(prices, sizes)


def behind(levels: Levels, side: Side, price: int) -> Levels:
    """Only the levels no better than ``price`` (bids at or below it, asks at or above);
    if none is, the deepest one stays, so the side is never empty."""
    keep = _order_key(side, levels.price) >= _order_key(side, price)
    if not keep.any():
        keep[-1] = True
    return Levels(levels.price[keep], levels.qty[keep])


def scaled(levels: Levels, count: int, factor: float) -> Levels:
    """The best ``count`` levels' quantities times ``factor`` (at least one lot each)."""
    sizes = levels.qty.copy()
    top = sizes[:count]
    sizes[:count] = np.maximum(1, np.rint(top * factor)).astype(np.int64)
    return Levels(levels.price, sizes)


def added(levels: Levels, count: int, lots: int) -> Levels:
    """``lots`` more at each of the best ``count`` levels."""
    sizes = levels.qty.copy()
    sizes[:count] += lots
    return Levels(levels.price, sizes)


def capped(levels: Levels, count: int, lots: int) -> Levels:
    """The best ``count`` levels holding at most ``lots`` each."""
    sizes = levels.qty.copy()
    sizes[:count] = np.minimum(sizes[:count], lots)
    return Levels(levels.price, sizes)
