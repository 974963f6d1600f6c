"""What the extractor needs from an exchange and from the Data Manager.

Ranges are half-open, ``[start, end)``, as in ``petrosa.exchange.binance.BinanceClient``,
which satisfies :class:`MarketSource` as it is.

Protocols rather than concrete classes: the jobs run against the real Binance client and
Data Manager client in production and in integration tests, and against fakes in unit tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from petrosa.contracts import Coverage, FundingRate, Interval, Kline, Market, Trade, WriteResult


class MarketSource(Protocol):
    async def server_time(self) -> int:
        """The exchange's clock, epoch ms."""
        ...

    def iter_klines(
        self, symbol: str, interval: Interval, start: int, end: int
    ) -> AsyncIterator[list[Kline]]:
        """Pages of klines with ``start <= open_time < end``, ascending, each once."""
        ...

    def iter_agg_trades(
        self, symbol: str, start: int | None, end: int, *, from_id: int | None = None
    ) -> AsyncIterator[list[Trade]]:
        """Pages of aggregate trades from ``from_id`` (or time ``start``) to time ``end``
        (exclusive), ascending."""
        ...

    def iter_funding_rates(
        self, symbol: str, start: int, end: int
    ) -> AsyncIterator[list[FundingRate]]:
        """Pages of funding rates with ``start <= funding_time < end``, ascending."""
        ...


class MarketStore(Protocol):
    """The slice of ``petrosa.client.DataManagerClient`` the jobs use.

    Klines and trades are stored per market; the jobs always say which one they extract.
    """

    async def get_latest_kline(
        self, symbol: str, interval: Interval | str, *, market: Market
    ) -> Kline | None: ...

    async def insert_klines(
        self, symbol: str, interval: Interval | str, klines: Sequence[Kline], *, market: Market
    ) -> WriteResult: ...

    async def get_coverage(
        self,
        symbol: str,
        interval: Interval | str,
        *,
        start: int | None,
        end: int | None,
        market: Market,
    ) -> Coverage: ...

    async def insert_trades(
        self, symbol: str, trades: Sequence[Trade], *, market: Market
    ) -> WriteResult: ...

    async def get_trades(self, symbol: str, *, limit: int, market: Market) -> Sequence[Trade]: ...

    async def get_funding_rates(self, symbol: str, *, limit: int) -> Sequence[FundingRate]: ...

    async def insert_funding_rates(
        self, symbol: str, rates: Sequence[FundingRate]
    ) -> WriteResult: ...
