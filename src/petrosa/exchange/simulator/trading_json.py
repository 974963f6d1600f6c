"""The paper account in Binance's USD-M futures JSON: orders, algo orders, trades, positions,
balances.

Amounts are exact decimal strings: quantities to the contract's step, prices to its tick,
money to 8 places, as Binance shows them.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from petrosa.exchange.simulator.accounts import (
    MAINT_MARGIN_RATE,
    MARGIN_ASSET,
    MONEY_DECIMALS,
    Standing,
    Trade,
    money,
)
from petrosa.exchange.simulator.algo_orders import CONDITIONAL, AlgoOrder
from petrosa.exchange.simulator.desk import Holding
from petrosa.exchange.simulator.instruments import Contract
from petrosa.exchange.simulator.orders import ONE_WAY_POSITION_SIDE, ZERO, Order, WorkingType

MAX_NOTIONAL_VALUE = "50000000"
"""The position ceiling reported for every leverage (no brackets are simulated)."""
INTEREST_RATE = "0.00010000"
MARGIN_TYPE = "cross"
ACCOUNT_ALIAS = "paper"
TIME_IN_FORCE = "GTC"
NO_PRICE_MATCH = "NONE"
NO_SELF_TRADE_PREVENTION = "NONE"


def fixed(value: Decimal, decimals: int) -> str:
    """``value`` with exactly ``decimals`` places (values are already on that grid)."""
    return format(value.quantize(Decimal(1).scaleb(-decimals)), "f")


def amount(value: Decimal) -> str:
    """Money with 8 places."""
    return fixed(money(value), MONEY_DECIMALS)


def order_body(order: Order, contract: Contract) -> dict[str, Any]:
    """An order as ``/fapi/v1/order`` reports it."""
    price_dp, qty_dp = contract.price_decimals, contract.qty_decimals
    return {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": order.status.value,
        "clientOrderId": order.client_order_id,
        "price": "0",
        "avgPrice": fixed(order.avg_price, price_dp),
        "origQty": fixed(order.orig_qty, qty_dp),
        "executedQty": fixed(order.executed_qty, qty_dp),
        "cumQty": fixed(order.executed_qty, qty_dp),
        "cumQuote": fixed(order.cum_quote, price_dp + qty_dp),
        "timeInForce": TIME_IN_FORCE,
        "type": order.type.value,
        "reduceOnly": order.reduce_only,
        "closePosition": False,
        "side": order.side.value,
        "positionSide": ONE_WAY_POSITION_SIDE,
        "stopPrice": "0",
        "workingType": WorkingType.CONTRACT_PRICE.value,
        "priceProtect": False,
        "origType": order.type.value,
        "priceMatch": NO_PRICE_MATCH,
        "selfTradePreventionMode": NO_SELF_TRADE_PREVENTION,
        "goodTillDate": 0,
        "time": order.time,
        "updateTime": order.update_time,
    }


def acknowledged_body(order: Order, contract: Contract) -> dict[str, Any]:
    """The ``ACK`` answer: the order as accepted, before it filled."""
    zero_qty = fixed(ZERO, contract.qty_decimals)
    return {
        **order_body(order, contract),
        "status": "NEW",
        "avgPrice": fixed(ZERO, contract.price_decimals),
        "executedQty": zero_qty,
        "cumQty": zero_qty,
        "cumQuote": fixed(ZERO, contract.price_decimals + contract.qty_decimals),
        "updateTime": order.time,
    }


def algo_order_body(order: AlgoOrder, contract: Contract) -> dict[str, Any]:
    """An algo order as ``/fapi/v1/algoOrder`` and ``openAlgoOrders`` report it;
    ``actualOrderId`` is "" until it fires, ``actualPrice`` its market order's fill price."""
    price_dp = contract.price_decimals
    zero_price = fixed(ZERO, price_dp)
    actual = order.actual_order_id
    return {
        "algoId": order.algo_id,
        "clientAlgoId": order.client_algo_id,
        "algoType": CONDITIONAL,
        "orderType": order.order_type.value,
        "symbol": order.symbol,
        "side": order.side.value,
        "positionSide": ONE_WAY_POSITION_SIDE,
        "timeInForce": TIME_IN_FORCE,
        "quantity": fixed(order.quantity, contract.qty_decimals),
        "algoStatus": order.status.value,
        "actualOrderId": "" if actual is None else str(actual),
        "actualPrice": fixed(order.actual_price, price_dp),
        "triggerPrice": fixed(order.trigger_price, price_dp),
        "price": zero_price,
        "icebergQuantity": None,
        "tpTriggerPrice": zero_price,
        "tpPrice": zero_price,
        "slTriggerPrice": zero_price,
        "slPrice": zero_price,
        "tpOrderType": "",
        "selfTradePreventionMode": NO_SELF_TRADE_PREVENTION,
        "workingType": order.working_type.value,
        "priceMatch": NO_PRICE_MATCH,
        "closePosition": order.close_position,
        "priceProtect": order.price_protect,
        "reduceOnly": order.reduce_only,
        "createTime": order.create_time,
        "updateTime": order.update_time,
        "triggerTime": order.trigger_time,
        "goodTillDate": 0,
    }


def algo_canceled_body(order: AlgoOrder) -> dict[str, Any]:
    """``DELETE /fapi/v1/algoOrder``'s answer: the ids and a success code, not the order."""
    return {
        "algoId": order.algo_id,
        "clientAlgoId": order.client_algo_id,
        "code": "200",
        "msg": "success",
    }


def trade_body(trade: Trade, contract: Contract) -> dict[str, Any]:
    """A fill as ``/fapi/v1/userTrades`` reports it (every paper fill is a taker's)."""
    return {
        "buyer": trade.side.value == "BUY",
        "commission": amount(trade.commission),
        "commissionAsset": MARGIN_ASSET,
        "id": trade.trade_id,
        "maker": False,
        "orderId": trade.order_id,
        "price": fixed(trade.price, contract.price_decimals),
        "qty": fixed(trade.quantity, contract.qty_decimals),
        "quoteQty": fixed(trade.quote_quantity, contract.price_decimals + contract.qty_decimals),
        "realizedPnl": amount(trade.realized_pnl),
        "side": trade.side.value,
        "positionSide": ONE_WAY_POSITION_SIDE,
        "symbol": trade.symbol,
        "time": trade.time,
    }


def position_body(held: Holding, *, v3: bool) -> dict[str, Any]:
    """A position as ``/fapi/v2/positionRisk`` (or the v3 shape) reports it."""
    position, mark, contract = held.position, held.mark, held.contract
    notional = position.quantity * mark
    common = {
        "symbol": held.symbol,
        "positionSide": ONE_WAY_POSITION_SIDE,
        "positionAmt": fixed(position.quantity, contract.qty_decimals),
        "entryPrice": amount(position.entry_price),
        "breakEvenPrice": amount(position.entry_price),
        "markPrice": amount(mark),
        "unRealizedProfit": amount(position.unrealized(mark)),
        "liquidationPrice": "0",
        "isolatedMargin": amount(ZERO),
        "notional": amount(notional),
        "isolatedWallet": "0",
        "updateTime": position.update_time,
    }
    if v3:
        initial = amount(abs(notional) / held.leverage)
        return {
            **common,
            "marginAsset": MARGIN_ASSET,
            "initialMargin": initial,
            "maintMargin": amount(abs(notional) * MAINT_MARGIN_RATE),
            "positionInitialMargin": initial,
            "openOrderInitialMargin": amount(ZERO),
            "adl": 0,
            "bidNotional": "0",
            "askNotional": "0",
        }
    return {
        **common,
        "leverage": str(held.leverage),
        "maxNotionalValue": MAX_NOTIONAL_VALUE,
        "marginType": MARGIN_TYPE,
        "isAutoAddMargin": "false",
    }


def account_position_body(held: Holding, *, v3: bool) -> dict[str, Any]:
    """A position in the ``positions`` list of ``/fapi/v3/account`` (v2: a few more fields)."""
    position, contract = held.position, held.contract
    notional = position.quantity * held.mark
    initial = amount(abs(notional) / held.leverage)
    body: dict[str, Any] = {
        "symbol": held.symbol,
        "positionSide": ONE_WAY_POSITION_SIDE,
        "positionAmt": fixed(position.quantity, contract.qty_decimals),
        "unrealizedProfit": amount(position.unrealized(held.mark)),
        "isolatedMargin": amount(ZERO),
        "notional": amount(notional),
        "isolatedWallet": "0",
        "initialMargin": initial,
        "maintMargin": amount(abs(notional) * MAINT_MARGIN_RATE),
        "updateTime": position.update_time,
    }
    if not v3:
        body.update(
            positionInitialMargin=initial,
            openOrderInitialMargin=amount(ZERO),
            leverage=str(held.leverage),
            isolated=False,
            entryPrice=amount(position.entry_price),
            maxNotional=MAX_NOTIONAL_VALUE,
            bidNotional="0",
            askNotional="0",
        )
    return body


def asset_body(figures: Standing, update_time: int) -> dict[str, Any]:
    """The USDT asset of ``/fapi/v2|v3/account``."""
    withdrawable = max(ZERO, min(figures.available, figures.wallet))
    return {
        "asset": MARGIN_ASSET,
        "walletBalance": amount(figures.wallet),
        "unrealizedProfit": amount(figures.unrealized),
        "marginBalance": amount(figures.margin_balance),
        "maintMargin": amount(figures.maint_margin),
        "initialMargin": amount(figures.initial_margin),
        "positionInitialMargin": amount(figures.initial_margin),
        "openOrderInitialMargin": amount(ZERO),
        "crossWalletBalance": amount(figures.wallet),
        "crossUnPnl": amount(figures.unrealized),
        "availableBalance": amount(figures.available),
        "maxWithdrawAmount": amount(withdrawable),
        "marginAvailable": True,
        "updateTime": update_time,
    }


def account_body(
    figures: Standing, update_time: int, positions: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """``/fapi/v2|v3/account`` in single-asset mode: USDT totals, assets, positions."""
    asset = asset_body(figures, update_time)
    return {
        "totalInitialMargin": asset["initialMargin"],
        "totalMaintMargin": asset["maintMargin"],
        "totalWalletBalance": asset["walletBalance"],
        "totalUnrealizedProfit": asset["unrealizedProfit"],
        "totalMarginBalance": asset["marginBalance"],
        "totalPositionInitialMargin": asset["positionInitialMargin"],
        "totalOpenOrderInitialMargin": asset["openOrderInitialMargin"],
        "totalCrossWalletBalance": asset["crossWalletBalance"],
        "totalCrossUnPnl": asset["crossUnPnl"],
        "availableBalance": asset["availableBalance"],
        "maxWithdrawAmount": asset["maxWithdrawAmount"],
        "assets": [asset],
        "positions": list(positions),
    }


def balance_body(figures: Standing, update_time: int) -> list[dict[str, Any]]:
    """``/fapi/v2|v3/balance``."""
    asset = asset_body(figures, update_time)
    return [
        {
            "accountAlias": ACCOUNT_ALIAS,
            "asset": MARGIN_ASSET,
            "balance": asset["walletBalance"],
            "crossWalletBalance": asset["crossWalletBalance"],
            "crossUnPnl": asset["crossUnPnl"],
            "availableBalance": asset["availableBalance"],
            "maxWithdrawAmount": asset["maxWithdrawAmount"],
            "marginAvailable": True,
            "updateTime": update_time,
        }
    ]
