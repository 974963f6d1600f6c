"""The trading port: what the trade engine asks of a futures exchange, whichever it is.

``TradingExchange`` is a protocol; ``petrosa.exchange.binance.BinanceFuturesTrading``
implements it for Binance USD-M futures (testnet, production, or the local simulator's paper
account at its URL). Results are typed models with ``Decimal`` money; times are aware UTC.

Idempotency: every order carries a client order id. Placing again with an id the exchange
already knows returns the existing order, marked ``duplicate``, and never creates a second
one; a placement whose answer was lost is looked up by its id before anything is resent.

Errors::

    TradingError
    ├── SymbolNotListed     the exchange does not list the symbol (also a LookupError)
    ├── InvalidOrder        refused before sending: quantity or notional below the symbol's
    │                       minimums, above its maximum, not on its step, or a client order
    │                       id the exchange would refuse (also a ValueError)
    └── OrderRejected       the exchange refused; nothing was created or changed
        ├── InsufficientMargin
        └── UnknownOrder    no such order (or no longer open, for a cancel)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Protocol

from petrosa.contracts.trading import PositionSide

CLIENT_ORDER_ID_PATTERN = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
"""What Binance accepts as ``newClientOrderId``."""
CLIENT_ORDER_ID_MAX_LENGTH = 36
CLIENT_ORDER_ID_DIGEST_LENGTH = 32
ZERO = Decimal(0)


class TradingError(Exception):
    """Base class of the port's errors."""


class SymbolNotListed(TradingError, LookupError):
    """The exchange does not list the symbol: nothing about it can be read or traded."""


class InvalidOrder(TradingError, ValueError):
    """The order breaks the symbol's filters; it was not sent."""

    def __init__(self, reason: InvalidOrderReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class OrderRejected(TradingError):
    """The exchange refused the order or order action; nothing was created or changed."""


class InsufficientMargin(OrderRejected):
    """The account cannot carry the order."""


class UnknownOrder(OrderRejected):
    """The order does not exist (or, for a cancel, is no longer open)."""


class InvalidOrderReason(StrEnum):
    QUANTITY_NOT_POSITIVE = "quantity_not_positive"
    QUANTITY_BELOW_MINIMUM = "quantity_below_minimum"
    QUANTITY_ABOVE_MAXIMUM = "quantity_above_maximum"
    QUANTITY_OFF_STEP = "quantity_off_step"
    NOTIONAL_BELOW_MINIMUM = "notional_below_minimum"
    PRICE_NOT_POSITIVE = "price_not_positive"
    CLIENT_ORDER_ID_INVALID = "client_order_id_invalid"


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY

    @classmethod
    def closing(cls, side: PositionSide) -> OrderSide:
        """The side of an order that reduces a position on ``side``."""
        return cls.SELL if side is PositionSide.LONG else cls.BUY


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"
    TRAILING_STOP_MARKET = "TRAILING_STOP_MARKET"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"

    @property
    def is_open(self) -> bool:
        """Still working on the exchange (it may yet fill)."""
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class ProtectiveKind(StrEnum):
    """A protective order: a stop-loss or a take-profit, both filled at market."""

    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"

    @property
    def order_type(self) -> OrderType:
        if self is ProtectiveKind.STOP_LOSS:
            return OrderType.STOP_MARKET
        return OrderType.TAKE_PROFIT_MARKET


@dataclass(frozen=True)
class SymbolFilters:
    """A symbol's trading rules (exchangeInfo ``LOT_SIZE``, ``MARKET_LOT_SIZE``,
    ``PRICE_FILTER``, ``MIN_NOTIONAL``), with the helpers that keep orders inside them."""

    symbol: str
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    min_notional: Decimal

    def round_quantity(self, quantity: Decimal) -> Decimal:
        """``quantity`` rounded down onto the step grid (never more than asked for)."""
        steps = (quantity / self.step_size).to_integral_value(rounding=ROUND_DOWN)
        return (steps * self.step_size).quantize(self.step_size)

    def round_price(self, price: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
        """``price`` onto the tick grid (nearest tick unless ``rounding`` says otherwise)."""
        ticks = (price / self.tick_size).to_integral_value(rounding=rounding)
        return (ticks * self.tick_size).quantize(self.tick_size)

    def check_quantity(self, quantity: Decimal, *, market: bool = True) -> None:
        """Raise ``InvalidOrder`` unless ``quantity`` is a valid order size."""
        maximum = self.market_max_qty if market else self.max_qty
        if quantity <= 0:
            raise InvalidOrder(InvalidOrderReason.QUANTITY_NOT_POSITIVE, f"quantity {quantity}")
        if quantity < self.min_qty:
            raise InvalidOrder(
                InvalidOrderReason.QUANTITY_BELOW_MINIMUM,
                f"{self.symbol}: quantity {quantity} is below the minimum {self.min_qty}",
            )
        if quantity > maximum:
            raise InvalidOrder(
                InvalidOrderReason.QUANTITY_ABOVE_MAXIMUM,
                f"{self.symbol}: quantity {quantity} is above the maximum {maximum}",
            )
        if quantity % self.step_size != 0:
            raise InvalidOrder(
                InvalidOrderReason.QUANTITY_OFF_STEP,
                f"{self.symbol}: quantity {quantity} is not a multiple of {self.step_size}",
            )

    def check_notional(self, quantity: Decimal, price: Decimal) -> None:
        """Raise ``InvalidOrder`` when ``quantity`` at ``price`` is below the minimum notional
        (reduce-only orders are exempt on Binance: do not call this for them)."""
        if price <= 0:
            raise InvalidOrder(InvalidOrderReason.PRICE_NOT_POSITIVE, f"price {price}")
        if quantity * price < self.min_notional:
            raise InvalidOrder(
                InvalidOrderReason.NOTIONAL_BELOW_MINIMUM,
                f"{self.symbol}: {quantity} x {price} is below the minimum notional"
                f" {self.min_notional}",
            )

    def order_quantity(
        self, quantity: Decimal, price: Decimal | None = None, *, reduce_only: bool = False
    ) -> Decimal:
        """``quantity`` rounded down to the step and checked: size limits, and, at ``price``,
        the minimum notional unless ``reduce_only``."""
        rounded = self.round_quantity(quantity)
        self.check_quantity(rounded)
        if price is not None and not reduce_only:
            self.check_notional(rounded, price)
        return rounded


@dataclass(frozen=True)
class OrderFill:
    """An order as the exchange reports it, with its fees once it has filled.

    A protective order that waits has the exchange's id for it as ``order_id`` (on Binance
    its ``algoId``); once it fired, it is reported as the market order it became: that
    order's ``order_id``, status and fill (so ``fills(symbol, order_id)`` finds its trades),
    under the protective order's client id."""

    order_id: int
    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    status: OrderStatus
    orig_qty: Decimal
    executed_qty: Decimal
    avg_price: Decimal
    """The average fill price (0 until something fills); never the order's ``price``."""
    cum_quote: Decimal
    stop_price: Decimal | None
    reduce_only: bool
    close_position: bool
    update_time: dt.datetime
    commission: Decimal | None = None
    """Fees of the fills, from the exchange's trade list (None: not known)."""
    commission_asset: str | None = None
    realized_pnl: Decimal | None = None
    """P&L the fills realized, net of nothing (fees are ``commission``); None: not known."""
    duplicate: bool = False
    """The client order id was already known: this is the existing order, not a new one."""

    @property
    def is_filled(self) -> bool:
        return self.status is OrderStatus.FILLED


@dataclass(frozen=True)
class Fill:
    """One trade of an order (Binance's ``userTrades``)."""

    trade_id: int
    order_id: int
    symbol: str
    side: OrderSide
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal
    commission: Decimal
    commission_asset: str
    realized_pnl: Decimal
    maker: bool
    time: dt.datetime


@dataclass(frozen=True)
class ExchangePosition:
    """A one-way position as the exchange holds it."""

    symbol: str
    quantity: Decimal
    """Signed: long > 0, short < 0."""
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    leverage: int | None
    update_time: dt.datetime | None

    @property
    def side(self) -> PositionSide | None:
        if self.quantity == 0:
            return None
        return PositionSide.LONG if self.quantity > 0 else PositionSide.SHORT

    @property
    def size(self) -> Decimal:
        return abs(self.quantity)


@dataclass(frozen=True)
class AccountSnapshot:
    """The futures wallet in one margin asset."""

    asset: str
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    """Wallet balance plus unrealized P&L: the account's equity."""
    available_balance: Decimal
    initial_margin: Decimal
    maint_margin: Decimal
    update_time: dt.datetime | None

    @property
    def equity(self) -> Decimal:
        return self.margin_balance


class TradingExchange(Protocol):
    """A USD-M style futures exchange in one-way position mode.

    Order methods raise ``InvalidOrder`` before sending anything that breaks the symbol's
    filters, and ``OrderRejected`` (or a subclass) when the exchange refuses. Any other
    failure (no answer, rate limits, bans) is the adapter's own error and means the outcome
    could not be established: look the order up by its client id before deciding anything.
    """

    async def symbol_filters(self, symbol: str) -> SymbolFilters:
        """The symbol's trading rules."""
        ...

    async def mark_price(self, symbol: str) -> Decimal:
        """The symbol's mark price now."""
        ...

    async def set_leverage(self, symbol: str, leverage: int) -> int:
        """Set the symbol's leverage; returns the leverage in force."""
        ...

    async def place_market_order(
        self,
        symbol: str,
        side: OrderSide,
        quantity: Decimal,
        *,
        client_order_id: str,
        reduce_only: bool = False,
        mark_price: Decimal | None = None,
        first_attempt: bool = False,
    ) -> OrderFill:
        """Buy or sell ``quantity`` at market; the filled order, fees included.

        ``mark_price`` spares the adapter fetching it for the notional check;
        ``first_attempt`` says the caller knows this client id was never sent, so the
        look-up that makes a repeated placement idempotent can be skipped.
        """
        ...

    async def place_protective_order(
        self,
        symbol: str,
        side: OrderSide,
        kind: ProtectiveKind,
        stop_price: Decimal,
        *,
        client_order_id: str,
        close_position: bool = True,
        quantity: Decimal | None = None,
    ) -> OrderFill:
        """A resting stop-loss or take-profit that fills at market once the price reaches
        ``stop_price``; closes the whole position, or reduces it by ``quantity``."""
        ...

    async def get_order(self, symbol: str, client_order_id: str) -> OrderFill | None:
        """The order with this client id, or None when the exchange has none."""
        ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> OrderFill:
        """Cancel an open order; ``UnknownOrder`` when it is not open."""
        ...

    async def open_orders(self, symbol: str | None = None) -> list[OrderFill]:
        """Resting orders, of one symbol or of all."""
        ...

    async def positions(self) -> list[ExchangePosition]:
        """Open (non-zero) positions."""
        ...

    async def account(self) -> AccountSnapshot:
        """Wallet, equity and available balance."""
        ...

    async def fills(self, symbol: str, order_id: int) -> list[Fill]:
        """The trades of one order."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def derive_client_order_id(*parts: str, prefix: str = "pt") -> str:
    """A client order id made from ``parts`` (e.g. a signal id and a purpose): the same
    parts give the same id, always within Binance's 36 characters and alphabet."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    room = CLIENT_ORDER_ID_MAX_LENGTH - len(prefix) - 1
    return f"{prefix}-{digest[: min(room, CLIENT_ORDER_ID_DIGEST_LENGTH)]}"
