"""Account equity, read from the exchange at most once per ``ttl_s`` per replica.

Every decision sizes and checks exposure against equity; asking the exchange each time
costs a signed request (weight 5 on Binance's account endpoint) and a round trip per
decision. Equity moves by fees and P&L, slowly next to a few seconds, so a short-lived
copy is used; concurrent callers share one request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from petrosa.exchange.trading import AccountSnapshot, TradingExchange


class AccountCache:
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
        self._snapshot: AccountSnapshot | None = None
        self._read_at = 0.0
        self._pending: asyncio.Task[AccountSnapshot] | None = None

    async def get(self) -> AccountSnapshot:
        if self._snapshot is not None and self.clock() - self._read_at < self.ttl_s:
            return self._snapshot
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._refresh())
        pending = self._pending
        try:
            return await asyncio.shield(pending)
        finally:
            if pending.done() and self._pending is pending:
                self._pending = None

    def invalidate(self) -> None:
        self._snapshot = None

    async def _refresh(self) -> AccountSnapshot:
        started = self.clock()
        snapshot = await self.exchange.account()
        self._snapshot, self._read_at = snapshot, started
        return snapshot
