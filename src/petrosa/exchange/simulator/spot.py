"""Spot market routes (``/api/v3``), as Binance serves them."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request

from petrosa.exchange.simulator import errors
from petrosa.exchange.simulator.exchange_info import spot_exchange_info
from petrosa.exchange.simulator.general import add_general_routes
from petrosa.exchange.simulator.marketdata import agg_trade_rows, kline_rows
from petrosa.exchange.simulator.params import Params, query
from petrosa.exchange.simulator.responses import JsonResponse
from petrosa.exchange.simulator.venue import SPOT, Venue, venue_of

router = APIRouter(prefix=SPOT.prefix, tags=["spot"])
add_general_routes(router)

KLINE_PARAMS = ("symbol", "interval", "startTime", "endTime", "timeZone", "limit")
AGG_TRADE_PARAMS = ("symbol", "fromId", "startTime", "endTime", "limit")
EXCHANGE_INFO_PARAMS = ("symbol", "symbols", "permissions", "showPermissionSets", "symbolStatus")


def _symbol_list(params: Params, venue: Venue) -> list[str]:
    single = params.symbol(required=False)
    many = params.text("symbols")
    if single is not None:
        return [venue.instrument(single).symbol]
    if many is None:
        return list(venue.instruments)
    try:
        names = orjson.loads(many)
    except orjson.JSONDecodeError:
        raise errors.illegal_chars("symbols", errors.SYMBOL_RANGE) from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise errors.illegal_chars("symbols", errors.SYMBOL_RANGE)
    return [venue.instrument(name).symbol for name in names]


@router.get("/exchangeInfo")
async def exchange_info(request: Request) -> JsonResponse:
    """Rate limits and the listed symbols (all, or ``symbol`` / ``symbols``)."""
    venue = venue_of(request)
    symbols = _symbol_list(query(request, EXCHANGE_INFO_PARAMS), venue)
    return JsonResponse(spot_exchange_info(venue, symbols))


@router.get("/klines")
async def klines(request: Request) -> JsonResponse:
    """Candles: default 500, at most 1,000 per request."""
    return JsonResponse(kline_rows(venue_of(request), SPOT, query(request, KLINE_PARAMS)))


@router.get("/aggTrades")
async def agg_trades(request: Request) -> JsonResponse:
    """Aggregate trades (``a p q f l T m M``): default 500, at most 1,000."""
    params = query(request, AGG_TRADE_PARAMS)
    return JsonResponse(agg_trade_rows(venue_of(request), SPOT, params))
