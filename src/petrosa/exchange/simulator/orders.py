"""Orders of the paper account: what a new-order request asks for, checked the way Binance
checks it, and each order's life, ``NEW`` then ``FILLED``.

``POST /fapi/v1/order`` serves ``MARKET`` orders (one-way mode, ``positionSide`` ``BOTH``),
filled at once. Conditional types (``STOP_MARKET``, ``TAKE_PROFIT_MARKET``, ``STOP``,
``TAKE_PROFIT``, ``TRAILING_STOP_MARKET``) are refused with -4120, as Binance has done since
2025-12-09: they go through the Algo Order endpoints (``algo_orders``), and a triggered algo
order becomes a market order here. ``reduceOnly`` never lets an order grow or flip the
position.
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
CONDITIONAL_TYPES = frozenset(
    {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
)
"""Order types Binance takes only on its Algo Order endpoints."""
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
    """Binance's order types the simulator serves: ``MARKET`` orders, and the conditional
    types of algo orders."""

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
    """A new market order that passed every check that needs no account state."""

    symbol: str
    side: Side
    quantity: Decimal
    reduce_only: bool
    client_order_id: str | None
    response_type: ResponseType


@dataclass
class Order:
    """One (market) order of the paper account, as Binance reports it."""

    symbol: str
    order_id: int
    client_order_id: str
    side: Side
    orig_qty: Decimal
    reduce_only: bool
    time: int
    update_time: int
    type: OrderType = OrderType.MARKET
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

    def filled(self, quantity: Decimal, price: Decimal, time: int) -> None:
        self.status, self.executed_qty, self.avg_price = Status.FILLED, quantity, price
        self.update_time = time

    def ended(self, status: Status, time: int) -> None:
        """Canceled or expired without a fill."""
        self.status, self.update_time = status, time


Choice = TypeVar("Choice", bound=StrEnum)


def choice(
    params: Params, name: str, kind: type[Choice], refusal: BinanceError, *, default: Choice
) -> Choice:
    text = params.text(name)
    if text is None:
        return default
    try:
        return kind(text)
    except ValueError:
        raise refusal from None


def required_choice(params: Params, name: str, kind: type[Choice], refusal: BinanceError) -> Choice:
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


def quantity_param(params: Params, contract: Contract, *, market: bool) -> Decimal:
    """``quantity``: mandatory, positive, on the step, within ``MARKET_LOT_SIZE`` (market
    orders) or ``LOT_SIZE``."""
    quantity = decimal_param(params, "quantity")
    if quantity is None:
        raise errors.mandatory("quantity")
    if quantity <= 0:
        raise rejections.quantity_not_positive()
    if not on_grid(quantity, contract.qty_decimals):
        raise rejections.bad_precision()
    if quantity > (MARKET_MAX_QTY if market else MAX_QTY):
        raise rejections.quantity_above_maximum()
    return quantity


def position_side_param(params: Params) -> None:
    """``positionSide``: only ``BOTH`` (one-way mode), else -4061."""
    position_side = params.text("positionSide")
    if position_side is not None and position_side != ONE_WAY_POSITION_SIDE:
        raise rejections.position_side_mismatch()


def client_id_param(params: Params, name: str) -> str | None:
    """A client order (or algo) id in Binance's alphabet, else -4015."""
    client_id = params.text(name)
    if client_id is not None and not CLIENT_ORDER_ID_RE.fullmatch(client_id):
        raise rejections.invalid_client_order_id()
    return client_id


def response_type_param(params: Params) -> ResponseType:
    return choice(
        params,
        "newOrderRespType",
        ResponseType,
        rejections.invalid_response_type(),
        default=ResponseType.ACK,
    )


def parse_order_request(params: Params, contract: Contract) -> OrderRequest:
    """A ``POST /fapi/v1/order`` request, refused with Binance's codes when malformed."""
    symbol = params.symbol()
    assert symbol is not None
    side = required_choice(params, "side", Side, rejections.invalid_side())
    if params.text("type", required=True) in CONDITIONAL_TYPES:
        raise rejections.algo_order_required()
    order_type = required_choice(params, "type", OrderType, rejections.invalid_order_type())
    if order_type is not OrderType.MARKET:
        raise rejections.invalid_order_type()
    position_side_param(params)
    client_order_id = client_id_param(params, "newClientOrderId")
    reduce_only = boolean_param(params, "reduceOnly")
    for name in ("stopPrice", "closePosition", "workingType", "priceProtect"):
        if params.text(name) is not None:
            raise rejections.not_required(name)
    return OrderRequest(
        symbol=symbol,
        side=side,
        quantity=quantity_param(params, contract, market=True),
        reduce_only=bool(reduce_only),
        client_order_id=client_order_id,
        response_type=response_type_param(params),
    )
