"""USD-M futures algo order routes of the paper account, as Binance serves them.

``/fapi/v1/algoOrder`` (POST: place, GET: by ``algoId`` or ``clientAlgoId``, DELETE: cancel)
and ``/fapi/v1/openAlgoOrders``; signed like every trading route, weighted like Binance
(POST 0, the others 1, ``openAlgoOrders`` without ``symbol`` 40). Unknown algo orders are
-2013 on a query and -2011 on a cancel, as for ``/fapi/v1/order``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from petrosa.exchange.simulator import errors, rejections
from petrosa.exchange.simulator.algo_orders import (
    ALGO_LOOKUP_PARAMS,
    CONDITIONAL,
    NEW_ALGO_ORDER_PARAMS,
    OPEN_ALGO_ORDERS_PARAMS,
    AlgoOrder,
    parse_algo_order_request,
)
from petrosa.exchange.simulator.desk import PaperDesk
from petrosa.exchange.simulator.params import Params
from petrosa.exchange.simulator.responses import JsonResponse
from petrosa.exchange.simulator.trading import signed_request
from petrosa.exchange.simulator.trading_json import algo_canceled_body, algo_order_body

router = APIRouter(prefix="/fapi/v1", tags=["futures trading"])


def _body(desk: PaperDesk, order: AlgoOrder) -> dict[str, Any]:
    return algo_order_body(order, desk.market(order.symbol).contract)


def _lookup(desk: PaperDesk, params: Params) -> AlgoOrder | None:
    algo_id, client_id = params.integer("algoId"), params.text("clientAlgoId")
    if algo_id is None and client_id is None:
        raise rejections.one_of_required("algoId", "clientAlgoId")
    return desk.account.find_algo_order(algo_id=algo_id, client_algo_id=client_id)


@router.post("/algoOrder")
async def new_algo_order(request: Request) -> JsonResponse:
    """Place a conditional ``STOP_MARKET`` or ``TAKE_PROFIT_MARKET`` algo order."""
    desk, params, now = await signed_request(request, NEW_ALGO_ORDER_PARAMS)
    symbol = params.symbol()
    assert symbol is not None
    wanted = parse_algo_order_request(params, desk.market(symbol).contract)
    with desk.open_at(now):
        return JsonResponse(_body(desk, desk.place_algo(wanted, now)))


@router.get("/algoOrder")
async def query_algo_order(request: Request) -> JsonResponse:
    """An algo order by ``algoId`` or ``clientAlgoId``; -2013 when there is none."""
    desk, params, now = await signed_request(request, ALGO_LOOKUP_PARAMS)
    with desk.open_at(now):
        order = _lookup(desk, params)
        if order is None:
            raise rejections.no_such_order()
        return JsonResponse(_body(desk, order))


@router.delete("/algoOrder")
async def cancel_algo_order(request: Request) -> JsonResponse:
    """Cancel a waiting algo order; -2011 when there is none (or it fired or ended)."""
    desk, params, now = await signed_request(request, ALGO_LOOKUP_PARAMS)
    with desk.open_at(now):
        order = _lookup(desk, params)
        if order is None:
            raise rejections.unknown_order_sent()
        return JsonResponse(algo_canceled_body(desk.cancel_algo(order, now)))


@router.get("/openAlgoOrders")
async def open_algo_orders(request: Request) -> JsonResponse:
    """Waiting algo orders of one symbol, or of all without ``symbol``."""
    desk, params, now = await signed_request(request, OPEN_ALGO_ORDERS_PARAMS)
    symbol = params.symbol(required=False)
    algo_type, algo_id = params.text("algoType"), params.integer("algoId")
    if algo_type is not None and algo_type != CONDITIONAL:
        raise errors.invalid_parameter("algoType")
    with desk.open_at(now):
        if symbol is not None:
            desk.market(symbol)
        waiting = desk.account.open_algo_orders(symbol)
        chosen = [o for o in waiting if algo_id is None or o.algo_id == algo_id]
        return JsonResponse([_body(desk, o) for o in chosen])
