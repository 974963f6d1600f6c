"""One page of a paginated read: a plain list that also knows where the next page starts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


class Page(list[T]):
    """The items of one page; pass ``next_cursor`` back as ``cursor`` for the next one."""

    next_cursor: str | None
    """Opaque position after the last item, or None on the last page."""

    def __init__(self, items: Iterable[T] = (), next_cursor: str | None = None) -> None:
        super().__init__(items)
        self.next_cursor = next_cursor
