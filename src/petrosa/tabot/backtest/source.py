"""Candles for a backtest from the Data Manager, the only way the TA bot reaches stored data.

A year of 1m candles is 525,600 rows, about 105 pages of the server's largest size. Pages
travel as Binance arrays (no per-row model validation) and the range is cut into spans read
concurrently, so the server's query, the transfer and the parsing of different spans
overlap.
"""

from __future__ import annotations

import asyncio
from typing import Any

from petrosa.client import DataManagerClient
from petrosa.contracts import Interval, Market
from petrosa.contracts.market import DEFAULT_MARKET
from petrosa.tabot.backtest.history import from_binance_arrays
from petrosa.tabot.window import CandleWindow

DEFAULT_SPAN_ROWS = 50_000
"""Candles per concurrently read span."""
DEFAULT_CONCURRENCY = 4


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
        return from_binance_arrays(interval, [row for part in parts for row in part])

    async def _span(self, symbol: str, interval: Interval, start: int, end: int) -> list[Any]:
        rows: list[Any] = []
        async with self._limit:
            pages = self._client.iter_candle_arrays(
                symbol, interval, start=start, end=end, market=self._market
            )
            async for page in pages:
                rows.extend(page)
        return rows
