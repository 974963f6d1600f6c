"""What the depth and book-ticker feeds read of the simulated order book (``book``): its
steps, update ids, snapshots, changes and best quotes. Declared structurally so the feeds
depend on exactly these members and tests can drive them with a small stand-in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

Level = tuple[str, str]
"""[price, quantity] as decimal strings."""


class Snapshot(Protocol):
    """The book at one step, best levels first."""

    @property
    def last_update_id(self) -> int: ...
    @property
    def bids(self) -> Sequence[Level]: ...
    @property
    def asks(self) -> Sequence[Level]: ...


class Changes(Protocol):
    """Levels changed after one step through another (absolute quantities, "0" removes)."""

    @property
    def first_update_id(self) -> int: ...
    @property
    def last_update_id(self) -> int: ...
    @property
    def previous_update_id(self) -> int: ...
    @property
    def bids(self) -> Sequence[Level]: ...
    @property
    def asks(self) -> Sequence[Level]: ...


class Quote(Protocol):
    """The best bid and ask at one step."""

    @property
    def update_id(self) -> int: ...
    @property
    def bid_price(self) -> str: ...
    @property
    def bid_qty(self) -> str: ...
    @property
    def ask_price(self) -> str: ...
    @property
    def ask_qty(self) -> str: ...


class OrderBook(Protocol):
    """A book that moves in steps of ``STEP_MS``: step ``n`` is the book at ``n * STEP_MS``."""

    def step_at(self, now_ms: int) -> int: ...
    def update_id(self, step: int) -> int: ...
    def snapshot(self, step: int, limit: int | None = None) -> Snapshot: ...
    def changes(self, after_step: int, through_step: int) -> Changes: ...
    def best(self, step: int) -> Quote: ...


STEP_MS = 100
"""The book's step (``book.STEP_MS``): step ``n`` is the book at ``n * STEP_MS``."""


def step_time(step: int) -> int:
    """When a book step happens (epoch ms)."""
    return step * STEP_MS
