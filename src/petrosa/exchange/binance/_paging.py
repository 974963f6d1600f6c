"""Walking a time range page by page: every item once, no overlap, cheapest page sizes.

Ranges are half-open, ``[start, end)`` like ``range()``: a day is ``[00:00, next 00:00)``.
Each page starts just after the last item of the previous one, and items outside the range
or before the cursor are dropped, so a server that repeats or overruns cannot cause
duplicates.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Protocol

from petrosa.contracts import FundingRate, Interval, Kline, Trade
from petrosa.exchange.binance._markets import Market, market_spec
from petrosa.exchange.binance._time import HOUR_MS, interval_ms
from petrosa.exchange.binance._weights import kline_page_limit

AGG_TRADES_TIME_WINDOW_MS = HOUR_MS - 1
"""Futures refuse ``startTime``/``endTime`` an hour or more apart; spot accepts it too."""


class MarketDataSource(Protocol):
    """The single-page calls the iterators are built on (``BinanceClient`` has them)."""

    market: Market

    async def klines(
        self,
        symbol: str,
        interval: Interval | str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int | None = None,
    ) -> list[Kline]: ...

    async def agg_trades(
        self,
        symbol: str,
        *,
        from_id: int | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int | None = None,
    ) -> list[Trade]: ...

    async def funding_rates(
        self,
        symbol: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int | None = None,
    ) -> list[FundingRate]: ...


def remaining_candles(cursor_ms: int, end_ms: int, step_ms: int | None) -> int | None:
    """Candles whose open time can lie in ``[cursor, end)``, at most; None when unknown."""
    if step_ms is None:
        return None
    return math.ceil((end_ms - cursor_ms) / step_ms)


async def iter_kline_pages(
    source: MarketDataSource, symbol: str, interval: Interval | str, start_ms: int, end_ms: int
) -> AsyncIterator[list[Kline]]:
    """Pages of klines with open time in ``[start_ms, end_ms)``, oldest first."""
    step = interval_ms(interval)
    cursor = start_ms
    while cursor < end_ms:
        limit = kline_page_limit(source.market, remaining_candles(cursor, end_ms, step))
        page = await source.klines(
            symbol, interval, start_time=cursor, end_time=end_ms - 1, limit=limit
        )
        fresh = [kline for kline in page if cursor <= kline.open_time < end_ms]
        if fresh:
            yield fresh
        if len(page) < limit:
            return  # Binance had no more klines up to end_time
        # Candles open on the interval's grid, so the next one opens a whole step later
        # (a month's length varies: just after the last one).
        cursor = max(cursor, page[-1].open_time + (1 if step is None else step))


async def iter_agg_trade_pages(
    source: MarketDataSource,
    symbol: str,
    start_ms: int | None,
    end_ms: int,
    *,
    from_id: int | None = None,
) -> AsyncIterator[list[Trade]]:
    """Pages of aggregate trades with time before ``end_ms``, oldest first, from trade id
    ``from_id`` or else from time ``start_ms``.

    Without ``from_id`` the first trade is found by time, an hour at a time (futures refuse
    wider windows); after it, pages follow the trade ids (``fromId``), which cannot skip or
    repeat trades that share a millisecond.
    """
    limit = market_spec(source.market).max_agg_trades_limit
    if from_id is not None:
        page = await source.agg_trades(symbol, from_id=from_id, limit=limit)
        if not page:
            return
        next_id, by_time = from_id, False
    elif start_ms is not None:
        page = await _first_trades_by_time(source, symbol, start_ms, end_ms, limit)
        if not page:
            return
        # a time-bounded page says nothing about the trades after its window
        next_id, by_time = page[0].trade_id, True
    else:
        raise ValueError("give a start time or a from_id")
    earliest = 0 if start_ms is None else start_ms
    while True:
        fresh = [
            trade for trade in page if trade.trade_id >= next_id and earliest <= trade.time < end_ms
        ]
        if fresh:
            yield fresh
        if max(trade.time for trade in page) >= end_ms:
            return
        if not by_time and len(page) < limit:
            return  # no newer trades yet
        next_id = max(next_id, page[-1].trade_id + 1)
        page = await source.agg_trades(symbol, from_id=next_id, limit=limit)
        by_time = False
        if not page:
            return


async def _first_trades_by_time(
    source: MarketDataSource, symbol: str, start_ms: int, end_ms: int, limit: int
) -> list[Trade]:
    """The first non-empty time window of trades from ``start_ms``, or [] before ``end_ms``."""
    cursor = start_ms
    while cursor < end_ms:
        window_end = min(cursor + AGG_TRADES_TIME_WINDOW_MS, end_ms - 1)
        page = await source.agg_trades(symbol, start_time=cursor, end_time=window_end, limit=limit)
        if page:
            return page
        cursor = window_end + 1
    return []


async def iter_funding_pages(
    source: MarketDataSource, symbol: str, start_ms: int, end_ms: int
) -> AsyncIterator[list[FundingRate]]:
    """Pages of funding-rate events with funding time in ``[start_ms, end_ms)``."""
    limit = market_spec(source.market).max_funding_limit
    if limit is None:
        raise ValueError(f"the {source.market.value} market has no funding rates")
    cursor = start_ms
    while cursor < end_ms:
        page = await source.funding_rates(
            symbol, start_time=cursor, end_time=end_ms - 1, limit=limit
        )
        fresh = [rate for rate in page if cursor <= rate.funding_time < end_ms]
        if fresh:
            yield fresh
        if len(page) < limit:
            return
        cursor = max(cursor, page[-1].funding_time) + 1
