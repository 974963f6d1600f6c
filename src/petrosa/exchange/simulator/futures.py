"""USD-M futures market routes (``/fapi/v1``), as Binance serves them."""

from __future__ import annotations

from fastapi import APIRouter, Request

from petrosa.exchange.simulator.exchange_info import futures_exchange_info
from petrosa.exchange.simulator.general import add_general_routes
from petrosa.exchange.simulator.marketdata import agg_trade_rows, funding_rows, kline_rows
from petrosa.exchange.simulator.params import query
from petrosa.exchange.simulator.responses import JsonResponse
from petrosa.exchange.simulator.venue import FUTURES, venue_of

router = APIRouter(prefix=FUTURES.prefix, tags=["futures"])
add_general_routes(router)

KLINE_PARAMS = ("symbol", "interval", "startTime", "endTime", "limit")
AGG_TRADE_PARAMS = ("symbol", "fromId", "startTime", "endTime", "limit")
FUNDING_PARAMS = ("symbol", "startTime", "endTime", "limit")


@router.get("/exchangeInfo")
async def exchange_info(request: Request) -> JsonResponse:
    """Rate limits, assets and every listed perpetual with its filters."""
    query(request)
    return JsonResponse(futures_exchange_info(venue_of(request)))


@router.get("/klines")
async def klines(request: Request) -> JsonResponse:
    """Candles: default 500, at most 1,500 per request."""
    return JsonResponse(kline_rows(venue_of(request), FUTURES, query(request, KLINE_PARAMS)))


@router.get("/aggTrades")
async def agg_trades(request: Request) -> JsonResponse:
    """Aggregate trades (``a p q f l T m``): default 500, at most 1,000."""
    params = query(request, AGG_TRADE_PARAMS)
    return JsonResponse(agg_trade_rows(venue_of(request), FUTURES, params))


@router.get("/fundingRate")
async def funding_rate(request: Request) -> JsonResponse:
    """Funding history, every 8 h: default 100, at most 1,000, ascending."""
    return JsonResponse(funding_rows(venue_of(request), query(request, FUNDING_PARAMS)))
