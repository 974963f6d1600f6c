"""The local order book: price levels per side, exact prices, cheap top-of-book reads.

Prices are keyed by ``Decimal``: Binance writes them as decimal strings whose formatting
may vary (``"100.10"`` and ``"100.1"`` are one level), and floats could merge or split
neighbouring levels. The strings exactly as received are kept for output, so a published
book shows the exchange's own text. Each side also keeps its prices in a sorted list,
updated by bisection when a level appears or disappears (a quantity change touches only
the dict), so ``top(n)`` is a slice, not a sort of the whole book: at ~10 reads per second
per symbol on a 1,000-level book that difference is the whole cost.

A book is only written through ``load`` (a REST snapshot) and ``apply`` (a diff event's
absolute quantities); whether an event may be applied is ``book_sync``'s business.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

Level = tuple[str, str]
"""One price level as Binance wrote it: (price, quantity), decimal strings."""
LevelChange = tuple[Decimal, Level | None]
"""A parsed level of a diff: its price, and the level to set or None to remove it."""

_ZERO = Decimal(0)


class BookDataError(ValueError):
    """A snapshot or diff that is not a list of [price, quantity] decimal strings."""


def parse_levels(raw: Any) -> list[LevelChange]:
    """Validate a side of a snapshot or diff (``[[price, qty], ...]``) before any of it is
    applied, so a malformed message is refused whole instead of half-applied.

    A quantity of zero in any formatting (``"0"``, ``"0.00000000"``) means "remove". This is
    the hot path of a busy stream (each level of each event), so checks are inlined.
    """
    if not isinstance(raw, list):
        raise BookDataError(f"levels must be a list, got {type(raw).__name__}")
    changes: list[LevelChange] = []
    append = changes.append
    for level in raw:
        try:
            price_text, quantity_text = level
            if type(price_text) is not str or type(quantity_text) is not str:
                raise TypeError("not strings")
            price = Decimal(price_text)
            quantity = Decimal(quantity_text)
            valid = (
                price.is_finite() and quantity.is_finite() and price > _ZERO and quantity >= _ZERO
            )
        except (ValueError, TypeError, ArithmeticError):  # InvalidOperation is both
            valid = False
        if not valid:
            raise BookDataError(
                f"a level must be [price > 0, quantity >= 0] as decimal strings, got {level!r}"
            )
        append((price, None if quantity == _ZERO else (price_text, quantity_text)))
    return changes


class BookSide:
    """One side of the book: levels by price, and the prices in ascending order."""

    def __init__(self, *, best_is_highest: bool) -> None:
        self.best_is_highest = best_is_highest
        self._levels: dict[Decimal, Level] = {}
        self._prices: list[Decimal] = []

    def __len__(self) -> int:
        return len(self._levels)

    def clear(self) -> None:
        self._levels.clear()
        self._prices.clear()

    def replace(self, changes: Iterable[LevelChange]) -> None:
        """Become exactly ``changes`` (zero quantities left out); one sort, not N inserts."""
        self._levels = {price: level for price, level in changes if level is not None}
        self._prices = sorted(self._levels)

    def update(self, changes: Iterable[LevelChange]) -> None:
        """Apply absolute quantities; removing a level the book does not have is a no-op."""
        levels, prices = self._levels, self._prices
        for price, level in changes:
            if level is None:
                if levels.pop(price, None) is not None:
                    del prices[bisect.bisect_left(prices, price)]
            else:
                if price not in levels:
                    bisect.insort(prices, price)
                levels[price] = level

    def best(self, n: int) -> list[Level]:
        """The ``n`` best levels, best first (highest bid, lowest ask)."""
        if n <= 0:
            return []
        prices = self._prices[-n:][::-1] if self.best_is_highest else self._prices[:n]
        levels = self._levels
        return [levels[price] for price in prices]

    def values(self) -> dict[Decimal, Decimal]:
        """Every level as exact numbers (price → quantity), for comparing books."""
        return {price: Decimal(quantity) for price, (_, quantity) in self._levels.items()}


class LocalBook:
    """A full order book for one symbol, as of update id ``last_update_id``."""

    def __init__(self) -> None:
        self.bids = BookSide(best_is_highest=True)
        self.asks = BookSide(best_is_highest=False)
        self.last_update_id: int | None = None
        """The id of the last update the book contains; None while it is empty."""

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any]) -> LocalBook:
        """A book holding exactly ``snapshot`` (a REST ``/depth`` body)."""
        book = cls()
        book.load(snapshot)
        return book

    def load(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the whole book with a REST ``/depth`` body; refused whole if malformed."""
        update_id = snapshot_update_id(snapshot)
        bids = parse_levels(snapshot.get("bids"))
        asks = parse_levels(snapshot.get("asks"))
        self.bids.replace(bids)
        self.asks.replace(asks)
        self.last_update_id = update_id

    def apply(self, bids: Any, asks: Any, *, update_id: int | None = None) -> None:
        """Apply a diff's raw sides (absolute quantities, ``"0"`` removes), all or nothing."""
        self.apply_parsed(parse_levels(bids), parse_levels(asks), update_id=update_id)

    def apply_parsed(
        self, bids: Iterable[LevelChange], asks: Iterable[LevelChange], *, update_id: int | None
    ) -> None:
        """Apply already validated changes (see ``parse_levels``)."""
        self.bids.update(bids)
        self.asks.update(asks)
        if update_id is not None:
            self.last_update_id = update_id

    def adopt(self, other: LocalBook) -> None:
        """Take over ``other``'s levels and update id (``other`` must not be used after).

        Lets a snapshot be validated into a separate book first and then become this one,
        so holders of this object see the new state and a malformed snapshot changes nothing.
        """
        self.bids, self.asks, self.last_update_id = other.bids, other.asks, other.last_update_id

    def clear(self) -> None:
        """Forget every level (a gap made the book unusable)."""
        self.bids.clear()
        self.asks.clear()
        self.last_update_id = None

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        """The ``n`` best bids and asks, each best first, as Binance wrote them."""
        return self.bids.best(n), self.asks.best(n)

    def differences(self, other: LocalBook, *, limit: int = 10) -> list[str]:
        """What differs from ``other`` (levels by exact value, and the update id), at most
        ``limit`` lines: empty when the books are equal. Meant for readable test failures.
        """
        found: list[str] = []
        if self.last_update_id != other.last_update_id:
            found.append(f"last_update_id {self.last_update_id} != {other.last_update_id}")
        for name, mine, theirs in (
            ("bid", self.bids.values(), other.bids.values()),
            ("ask", self.asks.values(), other.asks.values()),
        ):
            for price in sorted(mine.keys() | theirs.keys()):
                if mine.get(price) != theirs.get(price):
                    found.append(f"{name} {price}: {mine.get(price)} != {theirs.get(price)}")
        return found[:limit]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LocalBook):
            return NotImplemented
        return not self.differences(other, limit=1)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            f"LocalBook(last_update_id={self.last_update_id}, "
            f"bids={len(self.bids)}, asks={len(self.asks)})"
        )


def snapshot_update_id(snapshot: Mapping[str, Any]) -> int:
    """The ``lastUpdateId`` of a REST ``/depth`` body, checked to be an integer."""
    update_id = snapshot.get("lastUpdateId")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise BookDataError(f"a snapshot needs an integer lastUpdateId, got {update_id!r}")
    return update_id
