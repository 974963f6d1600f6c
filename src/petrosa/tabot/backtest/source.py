"""Candles for a backtest from the Data Manager, the only way the TA bot reaches stored data.

A year of 1m candles is 525,600 rows, about 105 pages of the server's largest size. Pages
travel as Binance arrays (no per-row model validation); the range is cut into spans read
concurrently, and each page is turned into columns as soon as it arrives, so the server's
queries, the transfer and the parsing overlap.
"""

from __future__ import annotations

import asyncio

from petrosa.client import DataManagerClient
from petrosa.contracts import Interval, Market
from petrosa.contracts.market import DEFAULT_MARKET
from petrosa.tabot.backtest.history import Columns, binance_columns, from_columns
from petrosa.tabot.window import CandleWindow

DEFAULT_SPAN_ROWS = 50_000
"""Candles per concurrently read span."""
DEFAULT_CONCURRENCY = 3
"""Spans in flight: enough to keep a one-worker Data Manager busy while pages are parsed."""


class DataManagerCandles:
    """``CandleSource`` over a ``DataManagerClient`` (the caller owns the client)."""

    def __init__(
        self,
        client: DataManagerClient,
        *,
        market: Market | str = DEFAULT_MARKET,
        span_rows: int = DEFAULT_SPAN_ROWS,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._client = client
        self._market = Market(market)
        self._span_rows = span_rows
        self._limit = asyncio.Semaphore(concurrency)

    async def candles(
        self, symbol: str, interval: Interval, start_ms: int, end_ms: int
    ) -> CandleWindow:
        step = interval.milliseconds
        if step is None:
            raise ValueError(f"interval {interval.value} has no fixed length")
        span = self._span_rows * step
        bounds = [(s, min(s + span, end_ms)) for s in range(start_ms, end_ms, span)]
        parts = await asyncio.gather(*(self._span(symbol, interval, a, b) for a, b in bounds))
        return from_columns(interval, [page for part in parts for page in part])

    async def _span(self, symbol: str, interval: Interval, start: int, end: int) -> list[Columns]:
        pages: list[Columns] = []
        async with self._limit:
            async for page in self._client.iter_candle_arrays(
                symbol, interval, start=start, end=end, market=self._market
            ):
                if page:
                    pages.append(binance_columns(page))
        return pages
