"""Market-data calls: klines, trades and funding rates (``/data/...``).

Klines and trades are stored per market: every kline and trade call takes ``market``
(``"spot"`` or ``"futures"``, default ``"futures"``) and sees only that market's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter

from petrosa.client._batch import DEFAULT_CHUNK_ROWS, add_write_results, check_chunk_rows, chunked
from petrosa.client._core import Requester
from petrosa.client._json import parse_as
from petrosa.client._page import Page
from petrosa.contracts import Coverage, FundingRate, Interval, Kline, Market, Trade, WriteResult
from petrosa.contracts.market import DEFAULT_MARKET

SortOrder = Literal["asc", "desc"]
TimeBound = int | dt.datetime
"""Epoch milliseconds, or a timezone-aware datetime."""
KlineRow = Kline | Sequence[Any] | Mapping[str, Any]
"""A ``Kline``, Binance's 12-field array, or a mapping with the ``Kline`` fields."""

DEFAULT_PAGE_LIMIT = 500
"""Rows per read when no limit is given, as on the server."""
DEFAULT_ITER_PAGE_SIZE = 1_000
"""Rows per request while iterating (the server allows up to 5,000)."""
MAX_PAGE_SIZE = 5_000
"""The server's largest page."""

KLINES_PATH = "/data/klines"
CANDLES_PATH = "/data/candles"
COVERAGE_PATH = "/data/klines/coverage"
TRADES_PATH = "/data/trades"
FUNDING_PATH = "/data/funding"

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_MS = dt.timedelta(milliseconds=1)

M = TypeVar("M")

_KLINES = TypeAdapter(list[Kline])
_ARRAYS: TypeAdapter[list[list[Any]]] = TypeAdapter(list[Any])
"""Checked as a list only: the rows are the server's own arrays, and checking each of a
year's 525,600 rows would cost a third of a second for nothing."""
_TRADES = TypeAdapter(list[Trade])
_RATES = TypeAdapter(list[FundingRate])
_WRITE_RESULT = TypeAdapter(WriteResult)
_COVERAGE = TypeAdapter(Coverage)


class MarketDataMixin(Requester):
    """Bulk, idempotent writes and cursor-paged reads of market data."""

    async def insert_klines(
        self,
        symbol: str,
        interval: Interval | str,
        klines: Iterable[KlineRow],
        *,
        market: Market | str = DEFAULT_MARKET,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> WriteResult:
        """Upsert klines by open time, ``chunk_rows`` per request; returns the summed result."""
        fields = {"symbol": symbol, "interval": str(interval)}
        return await self._write_all(
            KLINES_PATH, _market_param(market), fields, "klines", klines, _kline_row, chunk_rows
        )

    async def get_candles(
        self,
        symbol: str,
        interval: Interval | str,
        *,
        limit: int = DEFAULT_PAGE_LIMIT,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        order: SortOrder = "desc",
        cursor: str | None = None,
        market: Market | str = DEFAULT_MARKET,
    ) -> Page[Kline]:
        """One page of candles, newest first by default; ``start`` inclusive, ``end`` exclusive."""
        params = _range_params(start, end, order) | _candle_params(symbol, interval, market)
        return await self._read_page(CANDLES_PATH, params, limit, cursor, "candles", _KLINES)

    async def get_candle_arrays(
        self,
        symbol: str,
        interval: Interval | str,
        *,
        limit: int = DEFAULT_PAGE_LIMIT,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        order: SortOrder = "desc",
        cursor: str | None = None,
        market: Market | str = DEFAULT_MARKET,
    ) -> Page[list[Any]]:
        """:meth:`get_candles` in Binance's 12-field array layout (open time first, prices
        and volumes as decimal strings): no model per row, for reads straight into arrays."""
        params = _range_params(start, end, order) | _candle_params(symbol, interval, market)
        params["format"] = "arrays"
        return await self._read_page(CANDLES_PATH, params, limit, cursor, "candles", _ARRAYS)

    async def iter_candles(
        self,
        symbol: str,
        interval: Interval | str,
        *,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        order: SortOrder = "desc",
        page_size: int = DEFAULT_ITER_PAGE_SIZE,
        market: Market | str = DEFAULT_MARKET,
    ) -> AsyncIterator[Kline]:
        """Every candle in the range, fetched page by page following ``next_cursor``."""
        params = _range_params(start, end, order) | _candle_params(symbol, interval, market)
        async for page in self._pages(CANDLES_PATH, params, page_size, "candles", _KLINES):
            for kline in page:
                yield kline

    async def iter_candle_arrays(
        self,
        symbol: str,
        interval: Interval | str,
        *,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        order: SortOrder = "asc",
        page_size: int = MAX_PAGE_SIZE,
        market: Market | str = DEFAULT_MARKET,
    ) -> AsyncIterator[Page[list[Any]]]:
        """Pages of candles as Binance's 12-field arrays (decimals as strings), unvalidated:
        the bulk-read form for callers that parse columns themselves (a backtest reads a year
        of 1m candles). Oldest first by default; ``start`` inclusive, ``end`` exclusive."""
        params = _range_params(start, end, order) | _candle_params(symbol, interval, market)
        params["format"] = "arrays"
        async for page in self._pages(CANDLES_PATH, params, page_size, "candles", _ARRAYS):
            yield page

    async def get_latest_kline(
        self, symbol: str, interval: Interval | str, *, market: Market | str = DEFAULT_MARKET
    ) -> Kline | None:
        """The newest stored candle, or None when there is none."""
        page = await self.get_candles(symbol, interval, limit=1, market=market)
        return page[0] if page else None

    async def get_coverage(
        self,
        symbol: str,
        interval: Interval | str,
        *,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        market: Market | str = DEFAULT_MARKET,
    ) -> Coverage:
        """What is stored in the range (``end`` exclusive) and which runs of candles are missing."""
        params = _market_param(market) | {
            "symbol": symbol,
            "interval": str(interval),
            "start": epoch_ms(start),
            "end": epoch_ms(end),
        }
        body = await self._request("GET", COVERAGE_PATH, params=params)
        return parse_as(_COVERAGE, body, "coverage")

    async def insert_trades(
        self,
        symbol: str,
        trades: Iterable[Trade | Mapping[str, Any]],
        *,
        market: Market | str = DEFAULT_MARKET,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> WriteResult:
        """Upsert trades by trade id, ``chunk_rows`` per request; returns the summed result."""
        fields = {"symbol": symbol}
        return await self._write_all(
            TRADES_PATH, _market_param(market), fields, "trades", trades, _model_row, chunk_rows
        )

    async def get_trades(
        self,
        symbol: str,
        *,
        limit: int = DEFAULT_PAGE_LIMIT,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        order: SortOrder = "desc",
        cursor: str | None = None,
        market: Market | str = DEFAULT_MARKET,
    ) -> Page[Trade]:
        """One page of trades by time, newest first by default."""
        params = _range_params(start, end, order) | _market_param(market) | {"symbol": symbol}
        return await self._read_page(TRADES_PATH, params, limit, cursor, "trades", _TRADES)

    async def iter_trades(
        self,
        symbol: str,
        *,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        order: SortOrder = "desc",
        page_size: int = DEFAULT_ITER_PAGE_SIZE,
        market: Market | str = DEFAULT_MARKET,
    ) -> AsyncIterator[Trade]:
        """Every trade in the range, fetched page by page."""
        params = _range_params(start, end, order) | _market_param(market) | {"symbol": symbol}
        async for page in self._pages(TRADES_PATH, params, page_size, "trades", _TRADES):
            for trade in page:
                yield trade

    async def insert_funding_rates(
        self,
        symbol: str,
        rates: Iterable[FundingRate | Mapping[str, Any]],
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> WriteResult:
        """Upsert funding rates by funding time; returns the summed result."""
        fields = {"symbol": symbol}
        return await self._write_all(
            FUNDING_PATH, {}, fields, "rates", rates, _model_row, chunk_rows
        )

    async def get_funding_rates(
        self,
        symbol: str,
        *,
        limit: int = DEFAULT_PAGE_LIMIT,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        order: SortOrder = "desc",
        cursor: str | None = None,
    ) -> Page[FundingRate]:
        """One page of funding rates by funding time, newest first by default."""
        params = _range_params(start, end, order) | {"symbol": symbol}
        return await self._read_page(FUNDING_PATH, params, limit, cursor, "rates", _RATES)

    async def iter_funding_rates(
        self,
        symbol: str,
        *,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        order: SortOrder = "desc",
        page_size: int = DEFAULT_ITER_PAGE_SIZE,
    ) -> AsyncIterator[FundingRate]:
        """Every funding rate in the range, fetched page by page."""
        params = _range_params(start, end, order) | {"symbol": symbol}
        async for page in self._pages(FUNDING_PATH, params, page_size, "rates", _RATES):
            for rate in page:
                yield rate

    async def _write_all(
        self,
        path: str,
        params: dict[str, str],
        fields: dict[str, str],
        key: str,
        rows: Iterable[Any],
        convert: Callable[[Any], Any],
        chunk_rows: int,
    ) -> WriteResult:
        """POST the rows in chunks, one after another, and add up the results."""
        check_chunk_rows(chunk_rows)
        results = []
        for chunk in chunked(rows, chunk_rows, convert):
            body = await self._request("POST", path, params=params, json={**fields, key: chunk})
            results.append(parse_as(_WRITE_RESULT, body, "write result"))
        return add_write_results(results)

    async def _read_page(
        self,
        path: str,
        params: dict[str, Any],
        limit: int,
        cursor: str | None,
        key: str,
        adapter: TypeAdapter[list[M]],
    ) -> Page[M]:
        body = await self._request("GET", path, params=params | {"limit": limit, "cursor": cursor})
        if not isinstance(body, dict):
            body = {}
        items = parse_as(adapter, body.get(key), key)
        next_cursor = body.get("next_cursor")
        return Page(items, next_cursor if isinstance(next_cursor, str) else None)

    async def _pages(
        self,
        path: str,
        params: dict[str, Any],
        page_size: int,
        key: str,
        adapter: TypeAdapter[list[M]],
    ) -> AsyncIterator[Page[M]]:
        cursor: str | None = None
        while True:
            page = await self._read_page(path, params, page_size, cursor, key, adapter)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor


def epoch_ms(value: TimeBound | None) -> int | None:
    """Epoch milliseconds from an int (unchanged) or an aware datetime."""
    if value is None or isinstance(value, int):
        return value
    if value.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware (UTC), got a naive one")
    return (value - _EPOCH) // _ONE_MS


def _market_param(market: Market | str) -> dict[str, str]:
    return {"market": str(market)}


def _candle_params(symbol: str, interval: Interval | str, market: Market | str) -> dict[str, str]:
    return {"pair": symbol, "period": str(interval), "market": str(market)}


def _range_params(
    start: TimeBound | None, end: TimeBound | None, order: SortOrder
) -> dict[str, Any]:
    return {"start": epoch_ms(start), "end": epoch_ms(end), "order": order}


def _kline_row(row: KlineRow) -> Any:
    """Klines travel as Binance arrays: compact, and what the server parses fastest."""
    if isinstance(row, Kline):
        return row.to_binance()
    if isinstance(row, Mapping) and not isinstance(row, dict):
        return dict(row)
    return row


def _model_row(row: BaseModel | Mapping[str, Any]) -> Any:
    if isinstance(row, BaseModel):
        return row.model_dump()
    if isinstance(row, Mapping) and not isinstance(row, dict):
        return dict(row)
    return row
