"""Account equity, and the mark prices that value other symbols' positions, read from the
exchange at most once per ``ttl_s`` per replica.

Every decision sizes and checks exposure against equity; asking the exchange each time
costs a signed request (weight 5 on Binance's account endpoint) and a round trip per
decision. Equity moves by fees and P&L, slowly next to a few seconds, so a short-lived
copy is used; concurrent callers share one request. The same holds for the marks of the
symbols a decision is not about (their positions only count towards total exposure): with
ten open positions, reading each fresh would add ten requests to every decision. The
decision's own symbol is always read fresh: its order is sized at that mark.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Generic, TypeVar

from petrosa.exchange.trading import AccountSnapshot, TradingExchange

T = TypeVar("T")


class _Reused(Generic[T]):
    """One value, read again once ``ttl_s`` old; concurrent callers share one read, and a
    failed read is not kept."""

    def __init__(
        self, read: Callable[[], Awaitable[T]], ttl_s: float, clock: Callable[[], float]
    ) -> None:
        self.read = read
        self.ttl_s = ttl_s
        self.clock = clock
        self._value: T | None = None
        self._read_at = 0.0
        self._pending: asyncio.Task[T] | None = None

    async def get(self) -> T:
        if self._value is not None and self.clock() - self._read_at < self.ttl_s:
            return self._value
        if self._pending is None or self._pending.done():
            # A finished read no caller collected (its callers were cancelled) is not reused.
            self._pending = asyncio.ensure_future(self._refresh())
            self._pending.add_done_callback(_collected)
        pending = self._pending
        try:
            return await asyncio.shield(pending)
        finally:
            if pending.done() and self._pending is pending:
                self._pending = None

    def invalidate(self) -> None:
        self._value = None

    async def _refresh(self) -> T:
        started = self.clock()
        value = await self.read()
        self._value, self._read_at = value, started
        return value


def _collected(read: asyncio.Future[Any]) -> None:
    """Marks a read's failure as seen: its callers raise it themselves, and one whose
    callers were all cancelled must not be reported as "never retrieved"."""
    if not read.cancelled():
        read.exception()


class AccountCache:
    def __init__(
        self,
        exchange: TradingExchange,
        ttl_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._account = _Reused(exchange.account, ttl_s, clock)

    async def get(self) -> AccountSnapshot:
        return await self._account.get()

    def invalidate(self) -> None:
        self._account.invalidate()


class MarkCache:
    """Mark prices by symbol, each reused for ``ttl_s``."""

    def __init__(
        self,
        exchange: TradingExchange,
        ttl_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.exchange = exchange
        self.ttl_s = ttl_s
        self.clock = clock
        self._marks: dict[str, _Reused[Decimal]] = {}

    async def get(self, symbol: str) -> Decimal:
        mark = self._marks.get(symbol)
        if mark is None:

            async def read() -> Decimal:
                return await self.exchange.mark_price(symbol)

            mark = self._marks[symbol] = _Reused(read, self.ttl_s, self.clock)
        return await mark.get()
