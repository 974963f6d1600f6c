"""Orders of the paper account: what a new-order request asks for, checked the way Binance
checks it, and each order's life, ``NEW`` then ``FILLED``, ``CANCELED`` or ``EXPIRED``.

The simulator serves the order types a trade engine needs on USD-M futures in one-way mode
(``positionSide`` ``BOTH``): ``MARKET``, filled at once, and the conditional
``STOP_MARKET`` and ``TAKE_PROFIT_MARKET``, which rest until the last trade crosses
``stopPrice`` and are then filled like a market order::

    STOP_MARKET          BUY: last >= stopPrice    SELL: last <= stopPrice
    TAKE_PROFIT_MARKET   BUY: last <= stopPrice    SELL: last >= stopPrice

``closePosition=true`` closes whatever position is open when the order fires; ``reduceOnly``
never lets an order grow or flip the position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from petrosa.exchange.simulator import errors, rejections
from petrosa.exchange.simulator.errors import BinanceError
from petrosa.exchange.simulator.exchange_info import MAX_QTY
from petrosa.exchange.simulator.instruments import Contract
from petrosa.exchange.simulator.params import Params

DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
_DECIMAL_RE = re.compile(DECIMAL_RANGE)
CLIENT_ORDER_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
MARKET_MAX_QTY = MAX_QTY // 10
"""``MARKET_LOT_SIZE`` maxQty in exchangeInfo; other orders are held to ``LOT_SIZE``'s."""
ONE_WAY_POSITION_SIDE = "BOTH"
_BOOLEANS = {"true": True, "false": False}
NEW_ORDER_PARAMS = (
    "symbol",
    "side",
    "positionSide",
    "type",
    "quantity",
    "reduceOnly",
    "newClientOrderId",
    "stopPrice",
    "closePosition",
    "workingType",
    "priceProtect",
    "newOrderRespType",
)
ZERO = Decimal(0)


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the direction it moves a position."""
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    MARKET = "MARKET"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"


class Status(StrEnum):
    NEW = "NEW"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"


class WorkingType(StrEnum):
    """What a conditional order watches; the simulator's mark price is its last trade."""

    MARK_PRICE = "MARK_PRICE"
    CONTRACT_PRICE = "CONTRACT_PRICE"


class ResponseType(StrEnum):
    """``ACK`` answers the order as accepted; ``RESULT`` as it stands after filling."""

    ACK = "ACK"
    RESULT = "RESULT"


@dataclass(frozen=True)
class OrderRequest:
    """A new order that passed every check that needs no account state."""

    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    """0 with ``close_position``."""
    stop_price: Decimal
    """0 for ``MARKET``."""
    reduce_only: bool
    close_position: bool
    client_order_id: str | None
    working_type: WorkingType
    price_protect: bool
    response_type: ResponseType

    @property
    def conditional(self) -> bool:
        return self.type is not OrderType.MARKET


@dataclass
class Order:
    """One order of the paper account, as Binance reports it."""

    symbol: str
    order_id: int
    client_order_id: str
    side: Side
    type: OrderType
    orig_qty: Decimal
    stop_price: Decimal
    reduce_only: bool
    close_position: bool
    working_type: WorkingType
    price_protect: bool
    time: int
    update_time: int
    status: Status = Status.NEW
    executed_qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    """The price of its fill (every order fills at one price), 0 until it fills."""

    @property
    def is_open(self) -> bool:
        return self.status is Status.NEW

    @property
    def cum_quote(self) -> Decimal:
        return self.executed_qty * self.avg_price

    @property
    def fires_rising(self) -> bool:
        """Whether it fires when the price rises to the stop (else when it falls to it)."""
        return (self.type is OrderType.STOP_MARKET) == (self.side is Side.BUY)

    def fires_at(self, price: Decimal) -> bool:
        """Whether a trade at ``price`` fires this conditional order."""
        return price >= self.stop_price if self.fires_rising else price <= self.stop_price

    def filled(self, quantity: Decimal, price: Decimal, time: int) -> None:
        self.status, self.executed_qty, self.avg_price = Status.FILLED, quantity, price
        self.update_time = time

    def ended(self, status: Status, time: int) -> None:
        """Canceled or expired without a fill."""
        self.status, self.update_time = status, time


Choice = TypeVar("Choice", bound=StrEnum)


def _choice(
    params: Params, name: str, kind: type[Choice], refusal: BinanceError, *, default: Choice
) -> Choice:
    text = params.text(name)
    if text is None:
        return default
    try:
        return kind(text)
    except ValueError:
        raise refusal from None


def _required_choice(
    params: Params, name: str, kind: type[Choice], refusal: BinanceError
) -> Choice:
    text = params.text(name, required=True)
    assert text is not None
    try:
        return kind(text)
    except ValueError:
        raise refusal from None


def decimal_param(params: Params, name: str) -> Decimal | None:
    """A DECIMAL parameter as sent, or None; illegal characters fail with -1100."""
    text = params.text(name)
    if text is None:
        return None
    if not _DECIMAL_RE.fullmatch(text):
        raise errors.illegal_chars(name, DECIMAL_RANGE)
    return Decimal(text)


def boolean_param(params: Params, name: str) -> bool | None:
    """``true``/``false`` (any case), or None; anything else fails with -1130."""
    text = params.text(name)
    if text is None:
        return None
    value = _BOOLEANS.get(text.lower())
    if value is None:
        raise errors.invalid_parameter(name)
    return value


def on_grid(value: Decimal, decimals: int) -> bool:
    """Whether ``value`` is a whole number of 10**-decimals steps."""
    return value == value.quantize(Decimal(1).scaleb(-decimals))


def _quantity(params: Params, contract: Contract, order_type: OrderType) -> Decimal:
    quantity = decimal_param(params, "quantity")
    if quantity is None:
        raise errors.mandatory("quantity")
    if quantity <= 0:
        raise rejections.quantity_not_positive()
    if not on_grid(quantity, contract.qty_decimals):
        raise rejections.bad_precision()
    maximum = MARKET_MAX_QTY if order_type is OrderType.MARKET else MAX_QTY
    if quantity > maximum:
        raise rejections.quantity_above_maximum()
    return quantity


def _stop_price(params: Params, contract: Contract) -> Decimal:
    stop = decimal_param(params, "stopPrice")
    if stop is None:
        raise errors.mandatory("stopPrice")
    if stop <= 0:
        raise rejections.stop_price_not_positive()
    if not on_grid(stop, contract.price_decimals):
        raise rejections.bad_precision()
    return stop


def parse_order_request(params: Params, contract: Contract) -> OrderRequest:
    """A ``POST /fapi/v1/order`` request, refused with Binance's codes when malformed."""
    symbol = params.symbol()
    assert symbol is not None
    side = _required_choice(params, "side", Side, rejections.invalid_side())
    order_type = _required_choice(params, "type", OrderType, rejections.invalid_order_type())
    position_side = params.text("positionSide")
    if position_side is not None and position_side != ONE_WAY_POSITION_SIDE:
        raise rejections.position_side_mismatch()
    client_order_id = params.text("newClientOrderId")
    if client_order_id is not None and not CLIENT_ORDER_ID_RE.fullmatch(client_order_id):
        raise rejections.invalid_client_order_id()
    reduce_only = boolean_param(params, "reduceOnly")
    close_position = bool(boolean_param(params, "closePosition"))
    if order_type is OrderType.MARKET:
        for name in ("stopPrice", "closePosition", "workingType", "priceProtect"):
            if params.text(name) is not None:
                raise rejections.not_required(name)
        quantity, stop = _quantity(params, contract, order_type), ZERO
    else:
        stop = _stop_price(params, contract)
        if close_position:
            if params.text("quantity") is not None:
                raise rejections.quantity_with_close_position()
            if reduce_only is not None:
                raise rejections.not_required("reduceOnly")
            quantity = ZERO
        else:
            quantity = _quantity(params, contract, order_type)
    working_type = _choice(
        params,
        "workingType",
        WorkingType,
        rejections.invalid_working_type(params.text("workingType") or ""),
        default=WorkingType.CONTRACT_PRICE,
    )
    response_type = _choice(
        params,
        "newOrderRespType",
        ResponseType,
        rejections.invalid_response_type(),
        default=ResponseType.ACK,
    )
    return OrderRequest(
        symbol=symbol,
        side=side,
        type=order_type,
        quantity=quantity,
        stop_price=stop,
        reduce_only=bool(reduce_only),
        close_position=close_position,
        client_order_id=client_order_id,
        working_type=working_type,
        price_protect=bool(boolean_param(params, "priceProtect")),
        response_type=response_type,
    )
