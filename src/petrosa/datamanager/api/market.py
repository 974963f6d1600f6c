"""Klines, trades and funding rates: bulk idempotent writes, pushed-down reads, coverage.

Klines and trades are kept per market: every kline and trade endpoint takes ``market``
(``spot`` | ``futures``, default ``futures``) as a query parameter. Funding is futures-only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter

from petrosa.contracts.market import DEFAULT_MARKET, Coverage, Interval, Market, WriteResult
from petrosa.datamanager.api.auth import RequireRead, RequireWrite
from petrosa.datamanager.api.body_schemas import json_request_body
from petrosa.datamanager.api.deps import domain_store
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.json_rules import INT64_MAX
from petrosa.datamanager.market.coverage import kline_coverage
from petrosa.datamanager.market.ingest import (
    FundingBatch,
    KlineBatch,
    TradeBatch,
    parse_kline_batch,
    validate_body,
)
from petrosa.datamanager.market.series import Page, SeriesStore
from petrosa.datamanager.market.stores import MarketStore
from petrosa.datamanager.settings import MAX_READ_LIMIT

router = APIRouter(prefix="/data", tags=["market data"])
_TRADE_BATCH = TypeAdapter(TradeBatch)
_FUNDING_BATCH = TypeAdapter(FundingBatch)

SymbolQuery = Annotated[str, Query(pattern=r"^[A-Z0-9]{2,20}$", description="e.g. BTCUSDT")]
Limit = Annotated[int, Query(ge=1, le=MAX_READ_LIMIT)]
EpochMsQuery = Annotated[
    int | None, Query(ge=0, le=INT64_MAX, description="epoch milliseconds (signed 64-bit)")
]
OrderQuery = Annotated[Literal["asc", "desc"], Query(description="desc = newest first")]
MarketQuery = Annotated[
    Market, Query(description="spot or futures (USD-M); rows of one never touch the other's")
]
KLINE_OBJECT_FIELDS = (
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
    "trades", "taker_buy_base_volume", "taker_buy_quote_volume",
)  # fmt: skip
JSON = "application/json"


async def market_store(request: Request) -> MarketStore:
    return domain_store(request, "market", MarketStore)


def _schema(model: type[Any]) -> dict[str, Any]:
    return json_request_body(model)


@router.post(
    "/klines",
    response_model=WriteResult,
    dependencies=[RequireWrite],
    openapi_extra=_schema(KlineBatch),
    summary="Upsert a batch of klines for one market+symbol+interval (arrays or objects)",
)
async def write_klines(
    request: Request,
    store: MarketStore = Depends(market_store),
    market: MarketQuery = DEFAULT_MARKET,
) -> Response:
    symbol, interval, rows = parse_kline_batch(await request.body())
    series = (market.value, symbol, interval.value)
    try:
        result = await store.klines.write(series, rows, key_step=interval.milliseconds or 1)
    finally:
        store.candle_cache.invalidate(series)
    _count_rows(request, "klines", result)
    return Response(result.model_dump_json(), media_type=JSON)


@router.get(
    "/candles",
    dependencies=[RequireRead],
    summary="Candles of one market+symbol+interval, newest first (limit=1 → the newest)",
)
async def read_candles(
    store: MarketStore = Depends(market_store),
    market: MarketQuery = DEFAULT_MARKET,
    pair: Annotated[str | None, Query(pattern=r"^[A-Z0-9]{2,20}$")] = None,
    period: Interval | None = None,
    symbol: Annotated[str | None, Query(pattern=r"^[A-Z0-9]{2,20}$")] = None,
    interval: Interval | None = None,
    limit: Limit = 500,
    start: EpochMsQuery = None,
    end: EpochMsQuery = None,
    order: OrderQuery = "desc",
    cursor: str | None = None,
    format: Literal["objects", "arrays"] = "objects",
) -> Response:
    pair = pair or symbol
    period = period or interval
    if pair is None:
        raise InvalidInput(["query", "pair"], "pair (or symbol) is required")
    if period is None:
        raise InvalidInput(["query", "period"], "period (or interval) is required")
    series = (market.value, pair, period.value)
    cache = store.candle_cache
    cacheable = start is None and end is None and cursor is None and order == "desc"
    variant = (limit, format)
    if cacheable and (hit := cache.get(series, variant)) is not None:
        return Response(hit, media_type=JSON)
    generation = cache.generation(series)
    page = await store.klines.read(
        series, limit=limit, start=start, end=end, order=order, cursor=cursor
    )
    candles: list[Any]
    if format == "arrays":
        candles = [_binance_array(row) for row in page.rows]
    else:
        candles = [dict(zip(KLINE_OBJECT_FIELDS, row, strict=True)) for row in page.rows]
    body = orjson.dumps(
        {
            "market": market.value,
            "pair": pair,
            "period": period.value,
            "candles": candles,
            "next_cursor": page.next_cursor,
        }
    )
    if cacheable:
        cache.put(series, variant, body, generation)
    return Response(body, media_type=JSON)


def _binance_array(row: tuple[Any, ...]) -> list[Any]:
    """Binance's 12-field layout: decimals as strings, trailing "0"."""
    return [
        row[0], *(repr(v) for v in row[1:6]), row[6], repr(row[7]), row[8],
        repr(row[9]), repr(row[10]), "0",
    ]  # fmt: skip


@router.get(
    "/klines/coverage",
    response_model=Coverage,
    dependencies=[RequireRead],
    summary="First/last open time, count and the missing candles (gaps) of a series",
)
async def coverage(
    symbol: SymbolQuery,
    interval: Interval,
    store: MarketStore = Depends(market_store),
    market: MarketQuery = DEFAULT_MARKET,
    start: EpochMsQuery = None,
    end: EpochMsQuery = None,
) -> Coverage:
    if start is not None and end is not None and end <= start:
        raise InvalidInput(["query", "end"], "end must be after start")
    async with store.db.read() as conn:
        return await kline_coverage(conn, market, symbol, interval, start, end)


@router.post(
    "/trades",
    response_model=WriteResult,
    dependencies=[RequireWrite],
    openapi_extra=_schema(TradeBatch),
    summary="Upsert aggregate trades of one market+symbol, keyed by trade_id",
)
async def write_trades(
    request: Request,
    store: MarketStore = Depends(market_store),
    market: MarketQuery = DEFAULT_MARKET,
) -> Response:
    batch = validate_body(_TRADE_BATCH, await request.body())
    rows = [
        (t.trade_id, t.price, t.quantity, t.time, t.is_buyer_maker, t.first_trade_id,
         t.last_trade_id)
        for t in batch.trades
    ]  # fmt: skip
    result = await store.trades.write((market.value, batch.symbol), rows)
    _count_rows(request, "trades", result)
    return Response(result.model_dump_json(), media_type=JSON)


@router.get("/trades", dependencies=[RequireRead], summary="Aggregate trades of one market+symbol")
async def read_trades(
    symbol: SymbolQuery,
    store: MarketStore = Depends(market_store),
    market: MarketQuery = DEFAULT_MARKET,
    limit: Limit = 500,
    start: EpochMsQuery = None,
    end: EpochMsQuery = None,
    order: OrderQuery = "desc",
    cursor: str | None = None,
) -> Response:
    page = await store.trades.read(
        (market.value, symbol), limit=limit, start=start, end=end, order=order, cursor=cursor
    )
    envelope = {"market": market.value, "symbol": symbol}
    return _page_response(store.trades, page, envelope, "trades")


@router.post(
    "/funding",
    response_model=WriteResult,
    dependencies=[RequireWrite],
    openapi_extra=_schema(FundingBatch),
    summary="Upsert funding rates of one symbol, keyed by funding_time",
)
async def write_funding(request: Request, store: MarketStore = Depends(market_store)) -> Response:
    batch = validate_body(_FUNDING_BATCH, await request.body())
    rows = [(r.funding_time, r.funding_rate, r.mark_price) for r in batch.rates]
    result = await store.funding.write((batch.symbol,), rows, key_step=8 * 3_600_000)
    _count_rows(request, "funding_rates", result)
    return Response(result.model_dump_json(), media_type=JSON)


@router.get("/funding", dependencies=[RequireRead], summary="Funding rates of one symbol")
async def read_funding(
    symbol: SymbolQuery,
    store: MarketStore = Depends(market_store),
    limit: Limit = 500,
    start: EpochMsQuery = None,
    end: EpochMsQuery = None,
    order: OrderQuery = "desc",
    cursor: str | None = None,
) -> Response:
    page = await store.funding.read(
        (symbol,), limit=limit, start=start, end=end, order=order, cursor=cursor
    )
    return _page_response(store.funding, page, {"symbol": symbol}, "rates")


def _page_response(
    series: SeriesStore, page: Page, envelope: dict[str, Any], items_name: str
) -> Response:
    names = series.spec.row_columns
    items = [dict(zip(names, row, strict=True)) for row in page.rows]
    body = orjson.dumps({**envelope, items_name: items, "next_cursor": page.next_cursor})
    return Response(body, media_type=JSON)


def _count_rows(request: Request, table: str, result: WriteResult) -> None:
    request.app.state.metrics.rows_written.labels(table).inc(result.inserted + result.updated)
