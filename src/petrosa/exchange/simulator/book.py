"""The synthetic order book of one symbol on one market, for any step, the same for the same
seed: the REST ``depth`` snapshots, the WebSocket diff and partial depth streams and
``bookTicker`` all read it, so a client's book kept from the diff stream ends up equal to it.

Time is cut into steps of ``STEP_MS``: step ``k`` covers clock ms [k * 100, (k + 1) * 100) and
its book is in force during the whole step (built from the last trade at its first ms, so
nothing in it comes from after "now"). Levels come from ``book_levels``. Update ids are
directly computable and strictly increasing with the step::

    spot     U = update_id(a) + 1,  u = update_id(b)          (contiguous: U = previous u + 1)
    futures  pu = update_id(a),     U in (pu, update_id(a + 1)],  u = update_id(b)

for the event covering steps (a, b]. ``changes(a, b)`` lists every level touched at some step
in (a, b] with its quantity at ``b`` (Binance's diff events do the same), so applying it to
the book of any step from ``a`` to ``b`` gives the book at ``b``: a snapshot taken in the
middle of a slow (1 s) event's span still syncs.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from petrosa.exchange.simulator.bars import Ints
from petrosa.exchange.simulator.book_levels import BOOK_LEVELS, Book, Levels, LevelSource, Side
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.market import SyntheticMarket
from petrosa.exchange.simulator.noise import hash64
from petrosa.exchange.simulator.text import padded_text

__all__ = [
    "BOOK_LEVELS",
    "STEP_MS",
    "BestQuote",
    "BookModel",
    "DepthChanges",
    "DepthSnapshot",
]

STEP_MS = 100
IDS_PER_STEP: dict[MarketKind, int] = {MarketKind.SPOT: 4, MarketKind.FUTURES: 400}
"""Update ids per step: spot ids reach ~7 x 10**10 in 2025, futures ~7 x 10**12, as on
Binance."""
ID_ORIGIN_SPREAD = 10**9
"""Each book's ids start from its own offset below this, so symbols do not share ids."""
BOOKS_CACHED = 128
"""Recent steps' books kept per model (the streams ask for the same steps many times)."""
TEXTS_CACHED = 200_000
"""Formatted levels kept per model before the cache starts over."""
_KEY_SHIFT = 32
_KEY_PRICE_LIMIT = 2**31
_KEY_QTY_LIMIT = 2**_KEY_SHIFT
_KEY_QTY_MASK = _KEY_QTY_LIMIT - 1

Pairs = list[tuple[str, str]]


@dataclass(frozen=True)
class DepthSnapshot:
    """The book at one step, as Binance's ``depth`` answer carries it."""

    last_update_id: int
    bids: Pairs
    """[price, quantity], best (highest) first."""
    asks: Pairs
    """[price, quantity], best (lowest) first."""


@dataclass(frozen=True)
class DepthChanges:
    """What a diff-depth event covering steps (after_step, through_step] carries."""

    first_update_id: int
    """``U``."""
    last_update_id: int
    """``u``."""
    previous_update_id: int
    """``pu`` (futures): ``update_id(after_step)``, the previous event's ``u``."""
    bids: Pairs
    """Levels touched, price ascending, with their absolute quantity at ``through_step``;
    the market's zero ("0.00000000" on spot) removes the level."""
    asks: Pairs


@dataclass(frozen=True)
class BestQuote:
    """The top of the book at one step (``bookTicker``)."""

    update_id: int
    bid_price: str
    bid_qty: str
    ask_price: str
    ask_qty: str


class _Pairs:
    """[price, quantity] strings of levels, cached by (ticks, lots): a book's levels repeat
    from one step to the next, and formatting is most of a snapshot's cost."""

    def __init__(self, price_decimals: int, qty_decimals: int, width: int) -> None:
        self._price_decimals = price_decimals
        self._qty_decimals = qty_decimals
        self._width = width
        self._cache: dict[int, tuple[str, str]] = {}

    def __call__(self, price: Ints, qty: Ints) -> Pairs:
        if len(price) == 0:
            return []
        if int(price.max()) >= _KEY_PRICE_LIMIT or int(qty.max()) >= _KEY_QTY_LIMIT:
            return [self._text(p, q) for p, q in zip(price.tolist(), qty.tolist(), strict=True)]
        cache = self._cache
        keys = ((price << _KEY_SHIFT) | qty).tolist()
        try:
            return list(map(cache.__getitem__, keys))
        except KeyError:
            if len(cache) + len(keys) > TEXTS_CACHED:
                cache.clear()
            for key in keys:
                if key not in cache:
                    cache[key] = self._text(key >> _KEY_SHIFT, key & _KEY_QTY_MASK)
            return list(map(cache.__getitem__, keys))

    def _text(self, price: int, qty: int) -> tuple[str, str]:
        return (
            padded_text(price, self._price_decimals, self._width),
            padded_text(qty, self._qty_decimals, self._width),
        )


class BookModel:
    """The order book of one symbol on one market, a pure function of the step. It keeps
    recent steps' books and formatted levels (for one event loop: not thread-safe)."""

    def __init__(self, market: SyntheticMarket, *, pad_decimals: int) -> None:
        self.market = market
        self.kind = market.market
        self.source = LevelSource(market, step_ms=STEP_MS)
        rules = market.contract
        self._pairs = _Pairs(rules.price_decimals, rules.qty_decimals, pad_decimals)
        self._ids_per_step = IDS_PER_STEP[self.kind]
        self._id_origin = market.stream("book:ids") % ID_ORIGIN_SPREAD
        self._gap_key = market.stream("book:id-gap")
        self._books: OrderedDict[int, Book] = OrderedDict()
        self._books_version = market.overlay_version

    # -- public ---------------------------------------------------------------------------

    def step_at(self, now_ms: int) -> int:
        """The step in force at clock time ``now_ms``."""
        return now_ms // STEP_MS

    def update_id(self, step: int) -> int:
        """The last update id of the book at ``step`` (its snapshot's ``lastUpdateId``)."""
        return self._id_origin + step * self._ids_per_step

    def snapshot(self, step: int, limit: int | None = None) -> DepthSnapshot:
        """The book at ``step``: the best ``limit`` levels per side (all of them if None)."""
        if limit is not None and limit < 1:
            raise ValueError(f"a snapshot needs at least one level per side, not {limit}")
        book = self._book(step)
        count = BOOK_LEVELS if limit is None else limit
        bids, asks = book.bids, book.asks
        return DepthSnapshot(
            self.update_id(step),
            self._pairs(bids.price[:count], bids.qty[:count]),
            self._pairs(asks.price[:count], asks.qty[:count]),
        )

    def changes(self, after_step: int, through_step: int) -> DepthChanges:
        """The diff event covering steps (after_step, through_step]: every level touched in
        between, with its quantity at ``through_step``."""
        if through_step <= after_step:
            raise ValueError(f"no steps in ({after_step}, {through_step}]")
        touched: dict[Side, list[Ints]] = {Side.BID: [], Side.ASK: []}
        before = self._book(after_step)
        for step in range(after_step + 1, through_step + 1):
            after = self._book(step)
            for side, found in touched.items():
                found.append(_touched(before.side(side), after.side(side)))
            before = after
        first = self.update_id(after_step) + 1
        if self.kind is MarketKind.FUTURES:
            draw = int(hash64(self._gap_key, [through_step])[0])
            first += draw % self._ids_per_step
        return DepthChanges(
            first_update_id=first,
            last_update_id=self.update_id(through_step),
            previous_update_id=self.update_id(after_step),
            bids=self._levels_at(before.bids, np.unique(np.concatenate(touched[Side.BID]))),
            asks=self._levels_at(before.asks, np.unique(np.concatenate(touched[Side.ASK]))),
        )

    def best(self, step: int) -> BestQuote:
        """The best bid and ask at ``step``, with their quantities."""
        book = self._book(step)
        bid, ask = self._pairs(
            np.array([book.bids.price[0], book.asks.price[0]]),
            np.array([book.bids.qty[0], book.asks.qty[0]]),
        )
        return BestQuote(self.update_id(step), *bid, *ask)

    # -- internals ------------------------------------------------------------------------

    def _book(self, step: int) -> Book:
        books = self._books
        if self._books_version != self.market.overlay_version:
            books.clear()  # a scenario started or ended: cached future steps may change
            self._books_version = self.market.overlay_version
        book = books.get(step)
        if book is None:
            book = self.source.book(step)
            overlay = self.market.overlay
            if overlay is not None:
                book = overlay.edit_book(book)
            books[step] = book
            if len(books) > BOOKS_CACHED:
                books.popitem(last=False)
        else:
            books.move_to_end(step)
        return book

    def _levels_at(self, levels: Levels, prices: Ints) -> Pairs:
        """(price, quantity) at ``prices`` on one side: 0 where it holds no level."""
        return self._pairs(prices, _qty_at(levels, prices))


def _qty_at(levels: Levels, prices: Ints) -> Ints:
    """Quantities at ``prices`` (0 where the side has no level)."""
    price, qty = levels.ascending()
    index = np.minimum(np.searchsorted(price, prices), len(price) - 1)
    found: Ints = np.where(price[index] == prices, qty[index], 0)
    return found


def _touched(before: Levels, after: Levels) -> Ints:
    """Prices whose quantity differs between two states of one side (entering, leaving or
    re-sized)."""
    was = _qty_at(before, after.price)
    now = _qty_at(after, before.price)
    changed: Ints = np.concatenate([after.price[was != after.qty], before.price[now == 0]])
    return changed
