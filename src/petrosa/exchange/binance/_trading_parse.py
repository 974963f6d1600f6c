"""Binance USD-M futures trading JSON into the trading port's models.

Every amount is read from Binance's decimal strings straight into ``Decimal``; a body of the
wrong shape is a ``BinanceDecodingError``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from petrosa.exchange.binance._errors import BinanceDecodingError
from petrosa.exchange.trading import (
    AccountSnapshot,
    ExchangePosition,
    Fill,
    OrderFill,
    OrderSide,
    OrderStatus,
    OrderType,
    SymbolFilters,
)

_MS_PER_S = 1_000
Model = TypeVar("Model")


def _decimal(body: dict[str, Any], name: str) -> Decimal:
    try:
        return Decimal(str(body[name]))
    except (KeyError, InvalidOperation) as exc:
        raise BinanceDecodingError(f"expected a decimal {name!r} in {body!r}") from exc


def _time(ms: Any) -> dt.datetime:
    if not isinstance(ms, int) or isinstance(ms, bool):
        raise BinanceDecodingError(f"expected epoch milliseconds, got {ms!r}")
    return dt.datetime.fromtimestamp(ms / _MS_PER_S, dt.UTC)


def _optional_time(ms: Any) -> dt.datetime | None:
    return None if ms in (None, 0) else _time(ms)


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BinanceDecodingError(f"{what} is not a JSON object: {body!r}")
    return body


def objects(body: Any, what: str) -> list[dict[str, Any]]:
    """``body`` as a list of JSON objects."""
    if not isinstance(body, list):
        raise BinanceDecodingError(f"{what} is not a JSON list: {body!r}")
    return [_object(item, what) for item in body]


def parsed(parse: Callable[[Any], Model], body: Any, what: str) -> Model:
    """``parse(body)``, any missing or malformed field reported as a ``BinanceDecodingError``."""
    try:
        return parse(body)
    except BinanceDecodingError:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise BinanceDecodingError(f"Binance sent an unparseable {what}: {exc}") from exc


def order_fill(body: Any) -> OrderFill:
    """An order (``POST``/``GET``/``DELETE /fapi/v1/order``, ``openOrders``)."""
    order = _object(body, "order")
    stop = _decimal(order, "stopPrice") if "stopPrice" in order else Decimal(0)
    return OrderFill(
        order_id=int(order["orderId"]),
        client_order_id=str(order["clientOrderId"]),
        symbol=str(order["symbol"]),
        side=OrderSide(order["side"]),
        type=OrderType(order["type"]),
        status=OrderStatus(order["status"]),
        orig_qty=_decimal(order, "origQty"),
        executed_qty=_decimal(order, "executedQty"),
        avg_price=_decimal(order, "avgPrice"),
        cum_quote=_decimal(order, "cumQuote"),
        stop_price=stop if stop != 0 else None,
        reduce_only=bool(order.get("reduceOnly", False)),
        close_position=bool(order.get("closePosition", False)),
        update_time=_time(order["updateTime"]),
    )


class AlgoStatus(StrEnum):
    """``algoStatus`` of an algo order."""

    NEW = "NEW"
    TRIGGERING = "TRIGGERING"
    TRIGGERED = "TRIGGERED"
    FINISHED = "FINISHED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"


_UNFIRED_STATUS = {
    AlgoStatus.NEW: OrderStatus.NEW,
    AlgoStatus.TRIGGERING: OrderStatus.NEW,
    AlgoStatus.TRIGGERED: OrderStatus.NEW,
    AlgoStatus.FINISHED: OrderStatus.EXPIRED,
    AlgoStatus.CANCELED: OrderStatus.CANCELED,
    AlgoStatus.EXPIRED: OrderStatus.EXPIRED,
    AlgoStatus.REJECTED: OrderStatus.REJECTED,
}
"""What an algo order without a market order of its own is, as an order."""


@dataclass(frozen=True)
class AlgoOrder:
    """A conditional order of Binance's Algo Service, with the market order it placed once
    it fired (``actual_order_id``)."""

    order: OrderFill
    """It as an order of the port: ``order_id`` is its ``algoId``, ``client_order_id`` its
    ``clientAlgoId``; ``status`` is NEW while it waits (or is firing)."""
    status: AlgoStatus
    actual_order_id: int | None

    def placed_as(self, actual: OrderFill) -> OrderFill:
        """It as the market order it placed: that order's id, status and fill, under the
        algo order's client id, type, trigger and flags."""
        return replace(
            actual,
            client_order_id=self.order.client_order_id,
            type=self.order.type,
            stop_price=self.order.stop_price,
            reduce_only=actual.reduce_only or self.order.reduce_only,
            close_position=self.order.close_position,
        )


def algo_order(body: Any) -> AlgoOrder:
    """An algo order (``GET``/``POST /fapi/v1/algoOrder``, ``openAlgoOrders``)."""
    order = _object(body, "algo order")
    status = AlgoStatus(order["algoStatus"])
    actual = str(order.get("actualOrderId") or "")
    return AlgoOrder(
        order=OrderFill(
            order_id=int(order["algoId"]),
            client_order_id=str(order["clientAlgoId"]),
            symbol=str(order["symbol"]),
            side=OrderSide(order["side"]),
            type=OrderType(order["orderType"]),
            status=_UNFIRED_STATUS[status],
            orig_qty=_decimal(order, "quantity"),
            executed_qty=Decimal(0),
            avg_price=Decimal(0),
            cum_quote=Decimal(0),
            stop_price=_decimal(order, "triggerPrice"),
            reduce_only=bool(order.get("reduceOnly", False)),
            close_position=bool(order.get("closePosition", False)),
            update_time=_time(order["updateTime"]),
        ),
        status=status,
        actual_order_id=int(actual) if actual else None,
    )


def fill(body: Any) -> Fill:
    """A trade of ``/fapi/v1/userTrades``."""
    trade = _object(body, "trade")
    return Fill(
        trade_id=int(trade["id"]),
        order_id=int(trade["orderId"]),
        symbol=str(trade["symbol"]),
        side=OrderSide(trade["side"]),
        price=_decimal(trade, "price"),
        quantity=_decimal(trade, "qty"),
        quote_quantity=_decimal(trade, "quoteQty"),
        commission=_decimal(trade, "commission"),
        commission_asset=str(trade["commissionAsset"]),
        realized_pnl=_decimal(trade, "realizedPnl"),
        maker=bool(trade["maker"]),
        time=_time(trade["time"]),
    )


def position(body: Any) -> ExchangePosition:
    """A row of ``/fapi/v2|v3/positionRisk``."""
    row = _object(body, "position")
    leverage = row.get("leverage")
    return ExchangePosition(
        symbol=str(row["symbol"]),
        quantity=_decimal(row, "positionAmt"),
        entry_price=_decimal(row, "entryPrice"),
        mark_price=_decimal(row, "markPrice"),
        unrealized_pnl=_decimal(row, "unRealizedProfit"),
        leverage=None if leverage is None else int(leverage),
        update_time=_optional_time(row.get("updateTime")),
    )


def account_snapshot(body: Any, asset: str) -> AccountSnapshot:
    """The ``asset`` entry of ``/fapi/v2|v3/account``."""
    account = _object(body, "account")
    for entry in objects(account.get("assets"), "account assets"):
        if entry.get("asset") == asset:
            return AccountSnapshot(
                asset=asset,
                wallet_balance=_decimal(entry, "walletBalance"),
                unrealized_pnl=_decimal(entry, "unrealizedProfit"),
                margin_balance=_decimal(entry, "marginBalance"),
                available_balance=_decimal(entry, "availableBalance"),
                initial_margin=_decimal(entry, "initialMargin"),
                maint_margin=_decimal(entry, "maintMargin"),
                update_time=_optional_time(entry.get("updateTime")),
            )
    raise BinanceDecodingError(f"the account holds no {asset}")


def symbol_filters(exchange_info: Any) -> dict[str, SymbolFilters]:
    """Every symbol's ``LOT_SIZE``, ``MARKET_LOT_SIZE``, ``PRICE_FILTER`` and
    ``MIN_NOTIONAL`` filters from ``/fapi/v1/exchangeInfo``."""
    info = _object(exchange_info, "exchangeInfo")
    found: dict[str, SymbolFilters] = {}
    for entry in objects(info.get("symbols"), "exchangeInfo symbols"):
        filters = {f.get("filterType"): f for f in objects(entry.get("filters"), "filters")}
        lot, price = filters["LOT_SIZE"], filters["PRICE_FILTER"]
        market_lot = filters.get("MARKET_LOT_SIZE", lot)
        notional = filters.get("MIN_NOTIONAL", {"notional": "0"})
        symbol = str(entry["symbol"])
        found[symbol] = SymbolFilters(
            symbol=symbol,
            step_size=_decimal(lot, "stepSize"),
            min_qty=_decimal(lot, "minQty"),
            max_qty=_decimal(lot, "maxQty"),
            market_max_qty=_decimal(market_lot, "maxQty"),
            tick_size=_decimal(price, "tickSize"),
            min_price=_decimal(price, "minPrice"),
            max_price=_decimal(price, "maxPrice"),
            min_notional=_decimal(notional, "notional"),
        )
    return found
