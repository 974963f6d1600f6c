"""USD-M futures trading routes of the paper account, as Binance serves them.

``/fapi/v1``: ``order`` (POST, GET, DELETE), ``openOrders``, ``userTrades``, ``leverage`` and
the public ``premiumIndex``; ``/fapi/v2`` and ``/fapi/v3``: ``positionRisk``, ``account``,
``balance``; the algo order routes are in ``trading_algo``. Signed routes pass ``signing``
first (key, signature, timestamp against the simulated clock), then act on the
``PaperDesk`` at the clock's "now". ``/sim/orders`` and ``/sim/positions`` show the whole
paper account to tests, unsigned.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from petrosa.exchange.simulator import errors, premium, rejections
from petrosa.exchange.simulator.desk import Holding, PaperDesk
from petrosa.exchange.simulator.orders import NEW_ORDER_PARAMS, Order, ResponseType
from petrosa.exchange.simulator.orders import parse_order_request as parse_order
from petrosa.exchange.simulator.params import Params, query
from petrosa.exchange.simulator.responses import JsonResponse
from petrosa.exchange.simulator.settings import MAX_LEVERAGE
from petrosa.exchange.simulator.signing import signed_params
from petrosa.exchange.simulator.trading_json import (
    INTEREST_RATE,
    MAX_NOTIONAL_VALUE,
    account_body,
    account_position_body,
    acknowledged_body,
    algo_order_body,
    balance_body,
    order_body,
    position_body,
    trade_body,
)

v1 = APIRouter(prefix="/fapi/v1", tags=["futures trading"])
v2 = APIRouter(prefix="/fapi/v2", tags=["futures trading"])
v3 = APIRouter(prefix="/fapi/v3", tags=["futures trading"])
inspection = APIRouter(prefix="/sim", tags=["simulator"])
"""The paper account seen from outside, for tests: unsigned, weightless, not Binance's."""

ORDER_LOOKUP_PARAMS = ("symbol", "orderId", "origClientOrderId")
USER_TRADES_PARAMS = ("symbol", "orderId", "startTime", "endTime", "fromId", "limit")
USER_TRADES_DEFAULT_LIMIT = 500
USER_TRADES_MAX_LIMIT = 1_000


def desk_of(request: Request) -> PaperDesk:
    """The paper desk of ``request``'s app."""
    desk: PaperDesk = request.app.state.paper
    return desk


async def signed_request(
    request: Request, accepted: tuple[str, ...]
) -> tuple[PaperDesk, Params, int]:
    """The desk, the request's verified parameters (of ``accepted``) and the clock's now."""
    desk = desk_of(request)
    now = desk.venue.now_ms()
    params = await signed_params(request, desk.venue.settings, now, accepted)
    return desk, params, now


def _lookup(desk: PaperDesk, params: Params) -> Order | None:
    symbol = params.symbol()
    assert symbol is not None
    order_id, client_id = params.integer("orderId"), params.text("origClientOrderId")
    if order_id is None and client_id is None:
        raise rejections.one_of_required("orderId", "origClientOrderId")
    desk.market(symbol)
    return desk.account.find_order(symbol, order_id=order_id, client_order_id=client_id)


def _order(desk: PaperDesk, order: Order) -> dict[str, Any]:
    return order_body(order, desk.market(order.symbol).contract)


@v1.post("/order")
async def new_order(request: Request) -> JsonResponse:
    """Place a MARKET order (conditional types: -4120, they are algo orders)."""
    desk, params, now = await signed_request(request, NEW_ORDER_PARAMS)
    symbol = params.symbol()
    assert symbol is not None
    contract = desk.market(symbol).contract
    wanted = parse_order(params, contract)
    with desk.open_at(now):
        order = desk.place(wanted, now)
        if wanted.response_type is ResponseType.RESULT:
            return JsonResponse(order_body(order, contract))
        return JsonResponse(acknowledged_body(order, contract))


@v1.get("/order")
async def query_order(request: Request) -> JsonResponse:
    """An order by ``orderId`` or ``origClientOrderId``; -2013 when there is none."""
    desk, params, now = await signed_request(request, ORDER_LOOKUP_PARAMS)
    with desk.open_at(now):
        order = _lookup(desk, params)
        if order is None:
            raise rejections.no_such_order()
        return JsonResponse(_order(desk, order))


@v1.delete("/order")
async def cancel_order(request: Request) -> JsonResponse:
    """Cancel an open order; -2011 when there is none (or it already filled or ended)."""
    desk, params, now = await signed_request(request, ORDER_LOOKUP_PARAMS)
    with desk.open_at(now):
        order = _lookup(desk, params)
        if order is None:
            raise rejections.unknown_order_sent()
        return JsonResponse(_order(desk, desk.cancel(order, now)))


@v1.get("/openOrders")
async def open_orders(request: Request) -> JsonResponse:
    """Resting orders of one symbol, or of all without ``symbol``."""
    desk, params, now = await signed_request(request, ("symbol",))
    symbol = params.symbol(required=False)
    with desk.open_at(now):
        if symbol is not None:
            desk.market(symbol)
        return JsonResponse([_order(desk, o) for o in desk.account.open_orders(symbol)])


@v1.post("/leverage")
async def change_leverage(request: Request) -> JsonResponse:
    """Set a symbol's initial leverage, 1 to 125."""
    desk, params, now = await signed_request(request, ("symbol", "leverage"))
    symbol = params.symbol()
    leverage = params.integer("leverage", required=True)
    assert symbol is not None
    assert leverage is not None
    if not 1 <= leverage <= MAX_LEVERAGE:
        raise rejections.invalid_leverage(leverage)
    with desk.open_at(now) as account:
        desk.market(symbol)
        account.leverage[symbol] = leverage
        body = {"leverage": leverage, "maxNotionalValue": MAX_NOTIONAL_VALUE, "symbol": symbol}
        return JsonResponse(body)


@v1.get("/userTrades")
async def user_trades(request: Request) -> JsonResponse:
    """Fills of one symbol: by order, from an id, in a time range, or the latest."""
    desk, params, now = await signed_request(request, USER_TRADES_PARAMS)
    symbol = params.symbol()
    assert symbol is not None
    order_id, from_id = params.integer("orderId"), params.integer("fromId")
    start, end = params.integer("startTime"), params.integer("endTime")
    limit = params.limit(default=USER_TRADES_DEFAULT_LIMIT, maximum=USER_TRADES_MAX_LIMIT)
    if from_id is not None and (start is not None or end is not None):
        raise errors.invalid_parameter("fromId")
    with desk.open_at(now) as account:
        contract = desk.market(symbol).contract
        trades = [
            t
            for t in account.trades.get(symbol, [])
            if (order_id is None or t.order_id == order_id)
            and (from_id is None or t.trade_id >= from_id)
            and (start is None or t.time >= start)
            and (end is None or t.time <= end)
        ]
        chosen = trades[:limit] if from_id is not None else trades[-limit:]
        return JsonResponse([trade_body(t, contract) for t in chosen])


@v1.get("/premiumIndex")
async def premium_index(request: Request) -> JsonResponse:
    """Mark price (the last trade) and funding of one symbol, or of all without ``symbol``."""
    desk = desk_of(request)
    symbol = query(request, ("symbol",)).symbol(required=False)
    now = desk.venue.now_ms()
    symbols = [symbol] if symbol is not None else desk.tradable_symbols()
    rows = [_premium_row(desk, name, now) for name in symbols]
    return JsonResponse(rows[0] if symbol is not None else rows)


def _premium_row(desk: PaperDesk, symbol: str, now: int) -> dict[str, Any]:
    index = premium.premium_index(desk.market(symbol), now)
    return {
        "symbol": symbol,
        "markPrice": index.mark_price,
        "indexPrice": index.index_price,
        "estimatedSettlePrice": index.estimated_settle_price,
        "lastFundingRate": index.funding_rate,
        "interestRate": INTEREST_RATE,
        "nextFundingTime": index.next_funding_time,
        "time": now,
    }


def _add_account_routes(router: APIRouter, *, v3: bool) -> None:
    """``positionRisk``, ``account`` and ``balance`` in the v2 or v3 shape."""

    async def position_risk(request: Request) -> JsonResponse:
        """Positions with their mark price and unrealized profit (v3: only symbols with a
        position or open orders)."""
        desk, params, now = await signed_request(request, ("symbol",))
        symbol = params.symbol(required=False)
        with desk.open_at(now):
            held = desk.holdings(now, symbol, every_symbol=not v3)
            return JsonResponse([position_body(h, v3=v3) for h in held])

    async def account(request: Request) -> JsonResponse:
        """Wallet, margin and available balance in USDT, with the positions."""
        desk, _params, now = await signed_request(request, ())
        with desk.open_at(now) as book:
            figures, _marks = desk.standing(now)
            held: list[Holding] = desk.holdings(now, None, every_symbol=not v3)
            positions = [account_position_body(h, v3=v3) for h in held]
            return JsonResponse(account_body(figures, book.update_time, positions))

    async def balance(request: Request) -> JsonResponse:
        """The USDT balance."""
        desk, _params, now = await signed_request(request, ())
        with desk.open_at(now) as book:
            figures, _marks = desk.standing(now)
            return JsonResponse(balance_body(figures, book.update_time))

    router.add_api_route("/positionRisk", position_risk, methods=["GET"])
    router.add_api_route("/account", account, methods=["GET"])
    router.add_api_route("/balance", balance, methods=["GET"])


_add_account_routes(v2, v3=False)
_add_account_routes(v3, v3=True)


@inspection.get("/orders")
async def every_order(request: Request) -> JsonResponse:
    """Every order the paper account ever took, oldest first, as ``/fapi/v1/order`` shows it
    (market orders, including those fired algo orders placed), and every algo order as
    ``/fapi/v1/algoOrder`` shows it (``actualOrderId`` links one to its market order)."""
    desk = desk_of(request)
    now = desk.venue.now_ms()
    with desk.open_at(now) as account:
        placed = account.by_client_id.values()  # in the order they were placed
        algo = [
            algo_order_body(o, desk.market(o.symbol).contract) for o in account.algo_orders.values()
        ]
        return JsonResponse({"orders": [_order(desk, o) for o in placed], "algoOrders": algo})


@inspection.get("/positions")
async def every_position(request: Request) -> JsonResponse:
    """The open positions, as ``/fapi/v3/positionRisk`` shows them."""
    desk = desk_of(request)
    now = desk.venue.now_ms()
    with desk.open_at(now) as account:
        held = desk.holdings(now, None, every_symbol=False)
        rows = [position_body(h, v3=True) for h in held if h.position.quantity != 0]
        return JsonResponse({"positions": rows, "updateTime": account.update_time})
