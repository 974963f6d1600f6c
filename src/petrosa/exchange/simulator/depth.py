"""Order book routes: ``GET /api/v3/depth`` and ``GET /fapi/v1/depth``, the synthetic book
(``book``) at the step in force at the clock's "now".

Limits as Binance reads them: spot takes any ``limit`` from 1 (default 100) and answers at
most 5,000 levels per side (a larger ``limit`` is cut to 5,000, as Binance documents); the
futures market takes only 5, 10, 20, 50, 100, 500 or 1,000 (default 500) and answers any
other value with -1100 and the list of legal values, as Binance's depth endpoint did for a
value outside its list. A book holds ``BOOK_LEVELS`` levels per side, so a limit of 1,000 or
more returns all of it. Weights (by ``limit``) are in ``weights``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request

from petrosa.exchange.simulator import errors
from petrosa.exchange.simulator.book import STEP_MS, DepthSnapshot
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.params import Params, query
from petrosa.exchange.simulator.responses import JsonResponse
from petrosa.exchange.simulator.venue import FUTURES, SPOT, Venue, venue_of
from petrosa.exchange.simulator.weights import DEFAULT_DEPTH_LIMIT

router = APIRouter(tags=["depth"])

DEPTH_PARAMS = ("symbol", "limit")
SPOT_MAX_LIMIT = 5_000
FUTURES_LIMITS = (5, 10, 20, 50, 100, 500, 1_000)
_FUTURES_LEGAL = ", ".join(str(limit) for limit in FUTURES_LIMITS)


def _spot_limit(params: Params) -> int:
    limit = params.integer("limit")
    if limit is None:
        return DEFAULT_DEPTH_LIMIT[MarketKind.SPOT]
    if limit < 1:
        raise errors.invalid_parameter("limit")
    return min(limit, SPOT_MAX_LIMIT)


def _futures_limit(params: Params) -> int:
    limit = params.integer("limit")
    if limit is None:
        return DEFAULT_DEPTH_LIMIT[MarketKind.FUTURES]
    if limit not in FUTURES_LIMITS:
        raise errors.illegal_chars("limit", _FUTURES_LEGAL)
    return limit


def _snapshot(
    venue: Venue, kind: MarketKind, params: Params, limit_of: Callable[[Params], int], now: int
) -> tuple[int, DepthSnapshot]:
    """(step, book) in force at ``now``: the best ``limit`` levels per side."""
    symbol = params.symbol()
    limit = limit_of(params)
    assert symbol is not None
    book = venue.book(kind, symbol)
    step = book.step_at(now)
    return step, book.snapshot(step, limit)


@router.get(f"{SPOT.prefix}/depth")
async def spot_depth(request: Request) -> JsonResponse:
    """The spot order book: ``{"lastUpdateId", "bids", "asks"}``, best levels first."""
    venue = venue_of(request)
    params = query(request, DEPTH_PARAMS)
    _, book = _snapshot(venue, MarketKind.SPOT, params, _spot_limit, venue.now_ms())
    return JsonResponse({"lastUpdateId": book.last_update_id, "bids": book.bids, "asks": book.asks})


@router.get(f"{FUTURES.prefix}/depth")
async def futures_depth(request: Request) -> JsonResponse:
    """The futures order book: ``{"lastUpdateId", "E", "T", "bids", "asks"}``; ``E`` is the
    answer's time, ``T`` the time the book took effect (its step's start)."""
    venue = venue_of(request)
    params = query(request, DEPTH_PARAMS)
    now = venue.now_ms()
    step, book = _snapshot(venue, MarketKind.FUTURES, params, _futures_limit, now)
    return JsonResponse(
        {
            "lastUpdateId": book.last_update_id,
            "E": now,
            "T": step * STEP_MS,
            "bids": book.bids,
            "asks": book.asks,
        }
    )
