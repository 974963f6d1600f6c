"""Algo (conditional) orders of the paper account, as Binance's Algo Order endpoints take them
(``/fapi/v1/algoOrder``, ``algoType=CONDITIONAL``), and each one's life.

The simulator serves ``STOP_MARKET`` and ``TAKE_PROFIT_MARKET``. An algo order rests until the
last trade crosses ``triggerPrice``::

    STOP_MARKET          BUY: last >= triggerPrice    SELL: last <= triggerPrice
    TAKE_PROFIT_MARKET   BUY: last <= triggerPrice    SELL: last >= triggerPrice

then it places a market order of its own (``actualOrderId``), filled at that trade::

    NEW ──► TRIGGERED ──► FINISHED      its market order filled
     │                                  (the simulator fills at once: it answers FINISHED)
     ├──► REJECTED                      the market order was refused when it fired (nothing
     │                                  to close or reduce, or not enough margin)
     └──► CANCELED                      ``DELETE /fapi/v1/algoOrder``

``closePosition=true`` closes whatever position is open when it fires. Like Binance's Algo
Service, an algo order reserves no margin and is not checked against the account until it
fires. ``clientAlgoId`` is unique for the account's life, like ``newClientOrderId``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from petrosa.exchange.simulator import errors, rejections
from petrosa.exchange.simulator.instruments import Contract
from petrosa.exchange.simulator.orders import (
    CONDITIONAL_TYPES,
    ZERO,
    OrderType,
    Side,
    WorkingType,
    boolean_param,
    choice,
    client_id_param,
    decimal_param,
    on_grid,
    position_side_param,
    quantity_param,
    required_choice,
    response_type_param,
)
from petrosa.exchange.simulator.params import Params

CONDITIONAL = "CONDITIONAL"
"""The only ``algoType`` Binance takes on USD-M futures."""
NEW_ALGO_ORDER_PARAMS = (
    "algoType",
    "symbol",
    "side",
    "positionSide",
    "type",
    "quantity",
    "triggerPrice",
    "workingType",
    "closePosition",
    "priceProtect",
    "reduceOnly",
    "clientAlgoId",
    "newOrderRespType",
)
ALGO_LOOKUP_PARAMS = ("algoId", "clientAlgoId")
OPEN_ALGO_ORDERS_PARAMS = ("algoType", "symbol", "algoId")
SERVED_TYPES = (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET)


class AlgoStatus(StrEnum):
    NEW = "NEW"
    TRIGGERING = "TRIGGERING"
    TRIGGERED = "TRIGGERED"
    FINISHED = "FINISHED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class AlgoOrderRequest:
    """A new algo order that passed every check that needs no account state."""

    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    """0 with ``close_position``."""
    trigger_price: Decimal
    reduce_only: bool
    close_position: bool
    client_algo_id: str | None
    working_type: WorkingType
    price_protect: bool


@dataclass
class AlgoOrder:
    """One algo order of the paper account, as Binance reports it."""

    algo_id: int
    client_algo_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    trigger_price: Decimal
    reduce_only: bool
    close_position: bool
    working_type: WorkingType
    price_protect: bool
    create_time: int
    update_time: int
    status: AlgoStatus = AlgoStatus.NEW
    trigger_time: int = 0
    actual_order_id: int | None = None
    """The market order it placed when it fired."""
    actual_price: Decimal = ZERO
    """That order's fill price (0 until it filled)."""

    @property
    def is_open(self) -> bool:
        return self.status is AlgoStatus.NEW

    @property
    def fires_rising(self) -> bool:
        """Whether it fires when the price rises to the trigger (else when it falls to it)."""
        return (self.order_type is OrderType.STOP_MARKET) == (self.side is Side.BUY)

    def fires_at(self, price: Decimal) -> bool:
        """Whether a trade at ``price`` fires it."""
        return price >= self.trigger_price if self.fires_rising else price <= self.trigger_price

    def finished(self, actual_order_id: int, price: Decimal, time: int) -> None:
        """It fired and its market order ``actual_order_id`` filled at ``price``."""
        self.status, self.actual_order_id, self.actual_price = (
            AlgoStatus.FINISHED,
            actual_order_id,
            price,
        )
        self.trigger_time = self.update_time = time

    def ended(self, status: AlgoStatus, time: int) -> None:
        """Canceled, or rejected when it fired, without an order of its own."""
        self.status, self.update_time = status, time
        if status is AlgoStatus.REJECTED:
            self.trigger_time = time


def _trigger_price(params: Params, contract: Contract) -> Decimal:
    trigger = decimal_param(params, "triggerPrice")
    if trigger is None:
        raise errors.mandatory("triggerPrice")
    if trigger <= 0:
        raise rejections.stop_price_not_positive()
    if not on_grid(trigger, contract.price_decimals):
        raise rejections.bad_precision()
    return trigger


def parse_algo_order_request(params: Params, contract: Contract) -> AlgoOrderRequest:
    """A ``POST /fapi/v1/algoOrder`` request, refused with Binance's codes when malformed."""
    if params.text("algoType", required=True) != CONDITIONAL:
        raise errors.invalid_parameter("algoType")
    symbol = params.symbol()
    assert symbol is not None
    side = required_choice(params, "side", Side, rejections.invalid_side())
    if params.text("type", required=True) not in CONDITIONAL_TYPES:
        raise rejections.invalid_order_type()
    order_type = required_choice(params, "type", OrderType, rejections.invalid_order_type())
    if order_type not in SERVED_TYPES:
        raise rejections.invalid_order_type()
    position_side_param(params)
    client_algo_id = client_id_param(params, "clientAlgoId")
    trigger = _trigger_price(params, contract)
    reduce_only = boolean_param(params, "reduceOnly")
    close_position = bool(boolean_param(params, "closePosition"))
    if close_position:
        if params.text("quantity") is not None:
            raise rejections.quantity_with_close_position()
        if reduce_only is not None:
            raise rejections.not_required("reduceOnly")
        quantity = ZERO
    else:
        quantity = quantity_param(params, contract, market=False)
    working_type = choice(
        params,
        "workingType",
        WorkingType,
        rejections.invalid_working_type(params.text("workingType") or ""),
        default=WorkingType.CONTRACT_PRICE,
    )
    response_type_param(params)  # checked; both answers show the whole algo order
    return AlgoOrderRequest(
        symbol=symbol,
        side=side,
        order_type=order_type,
        quantity=quantity,
        trigger_price=trigger,
        reduce_only=bool(reduce_only),
        close_position=close_position,
        client_algo_id=client_algo_id,
        working_type=working_type,
        price_protect=bool(boolean_param(params, "priceProtect")),
    )
