"""The paper account's books: a USDT wallet, one-way positions, leverage, orders, algo orders
and trades, all in exact ``Decimal``.

A fill moves the position; the part of it that reduces the position realizes P&L against the
entry price, and the fee is charged on the whole fill::

    long closed at exit   realized = (exit - entry) x quantity closed
    short closed at exit  realized = (entry - exit) x quantity closed
    fee                   = fill price x quantity x taker rate
    wallet               += realized - fee

Amounts are kept to ``MONEY_DECIMALS`` places (rounded half-up, as they are shown). A fill past
the position's size flips it: the rest opens the other side at the fill price. Adding to a
position averages its entry price. Margin, in cross mode::

    unrealized        = (mark - entry) x signed quantity
    initial margin    = |quantity| x mark / leverage
    margin balance    = wallet + unrealized          (equity)
    available         = margin balance - initial margin

No order holds margin while it waits: market orders fill at once, and algo orders (like
Binance's Algo Service) are checked against the account only when they fire.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from petrosa.exchange.simulator.algo_orders import AlgoOrder
from petrosa.exchange.simulator.orders import ZERO, Order, Side

MONEY_DECIMALS = 8
MONEY_QUANTUM = Decimal(1).scaleb(-MONEY_DECIMALS)
MARGIN_ASSET = "USDT"
MAINT_MARGIN_RATE = Decimal("0.004")
"""Maintenance margin as a share of the notional (Binance's first bracket for majors)."""
FIRST_ID = 1
FIRST_ALGO_ID = 1_000_000_001
"""Algo ids count account-wide from here, so that no algo id is ever mistaken for an order
id (Binance's are separate sequences too)."""


def money(value: Decimal) -> Decimal:
    """``value`` to ``MONEY_DECIMALS`` places, half-up."""
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Position:
    """A one-way position: signed quantity (long > 0) and its average entry price."""

    quantity: Decimal = ZERO
    entry_price: Decimal = ZERO
    update_time: int = 0

    def unrealized(self, mark: Decimal) -> Decimal:
        return money((mark - self.entry_price) * self.quantity)

    def reducible_by(self, side: Side) -> Decimal:
        """How much of the position an order on ``side`` can reduce (0: it would grow it)."""
        return abs(self.quantity) if self.quantity * side.sign < 0 else ZERO


def moved(position: Position, signed_qty: Decimal, price: Decimal) -> tuple[Position, Decimal]:
    """The position after a fill of ``signed_qty`` at ``price``, and the P&L it realizes."""
    held = position.quantity
    if held == 0 or (held > 0) == (signed_qty > 0):
        total = held + signed_qty
        cost = abs(held) * position.entry_price + abs(signed_qty) * price
        return replace(position, quantity=total, entry_price=money(cost / abs(total))), ZERO
    closed = min(abs(signed_qty), abs(held))
    direction = 1 if held > 0 else -1
    realized = money((price - position.entry_price) * closed * direction)
    rest = held + signed_qty
    if rest == 0:
        return Position(update_time=position.update_time), realized
    if (rest > 0) == (held > 0):
        return replace(position, quantity=rest), realized
    return replace(position, quantity=rest, entry_price=price), realized


@dataclass(frozen=True)
class Trade:
    """One fill of an order (Binance's ``userTrades`` row)."""

    trade_id: int
    order_id: int
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    commission: Decimal
    realized_pnl: Decimal
    time: int

    @property
    def quote_quantity(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True)
class Standing:
    """The account's margin figures at some marks."""

    wallet: Decimal
    unrealized: Decimal
    initial_margin: Decimal
    maint_margin: Decimal

    @property
    def margin_balance(self) -> Decimal:
        return self.wallet + self.unrealized

    @property
    def available(self) -> Decimal:
        return self.margin_balance - self.initial_margin


def standing(
    wallet: Decimal,
    positions: Mapping[str, Position],
    marks: Mapping[str, Decimal],
    leverage: Mapping[str, int],
) -> Standing:
    """Margin figures for ``positions`` valued at ``marks``."""
    unrealized = initial = maint = ZERO
    for symbol, position in positions.items():
        if position.quantity == 0:
            continue
        mark = marks[symbol]
        notional = abs(position.quantity) * mark
        unrealized += position.unrealized(mark)
        initial += money(notional / leverage[symbol])
        maint += money(notional * MAINT_MARGIN_RATE)
    return Standing(wallet, unrealized, initial, maint)


@dataclass
class PaperAccount:
    """Everything the paper account holds; ``PaperDesk`` is the only writer."""

    wallet: Decimal
    fee_rate: Decimal
    default_leverage: int
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    orders: dict[str, dict[int, Order]] = field(default_factory=dict)
    """Orders by symbol, then by order id (ids count per symbol, like Binance's)."""
    by_client_id: dict[str, Order] = field(default_factory=dict)
    """Client order ids are unique across the account, for as long as it lives; in the
    order the orders were placed."""
    algo_orders: dict[int, AlgoOrder] = field(default_factory=dict)
    """Algo orders by algo id, in the order they were placed."""
    algo_by_client_id: dict[str, AlgoOrder] = field(default_factory=dict)
    """Client algo ids are unique across the account, for as long as it lives."""
    trades: dict[str, list[Trade]] = field(default_factory=dict)
    update_time: int = 0
    _next_trade_id: dict[str, int] = field(default_factory=dict)

    def position(self, symbol: str) -> Position:
        return self.positions.get(symbol, Position())

    def leverage_of(self, symbol: str) -> int:
        return self.leverage.get(symbol, self.default_leverage)

    def all_leverage(self, symbols: Iterable[str]) -> dict[str, int]:
        return {symbol: self.leverage_of(symbol) for symbol in symbols}

    def next_order_id(self, symbol: str) -> int:
        return len(self.orders.get(symbol, {})) + FIRST_ID

    def add_order(self, order: Order) -> None:
        self.orders.setdefault(order.symbol, {})[order.order_id] = order
        self.by_client_id[order.client_order_id] = order

    def find_order(
        self, symbol: str, *, order_id: int | None, client_order_id: str | None
    ) -> Order | None:
        """The order with ``order_id`` (which wins when both are given) or client id."""
        if order_id is not None:
            return self.orders.get(symbol, {}).get(order_id)
        found = self.by_client_id.get(client_order_id or "")
        return found if found is not None and found.symbol == symbol else None

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        symbols = [symbol] if symbol is not None else sorted(self.orders)
        return [o for s in symbols for o in self.orders.get(s, {}).values() if o.is_open]

    def next_algo_id(self) -> int:
        return len(self.algo_orders) + FIRST_ALGO_ID

    def add_algo_order(self, order: AlgoOrder) -> None:
        self.algo_orders[order.algo_id] = order
        self.algo_by_client_id[order.client_algo_id] = order

    def find_algo_order(
        self, *, algo_id: int | None, client_algo_id: str | None
    ) -> AlgoOrder | None:
        """The algo order with ``algo_id`` (which wins when both are given) or client id."""
        if algo_id is not None:
            return self.algo_orders.get(algo_id)
        return self.algo_by_client_id.get(client_algo_id or "")

    def open_algo_orders(self, symbol: str | None = None) -> list[AlgoOrder]:
        """Waiting algo orders of ``symbol`` (or of all), oldest first."""
        return [
            o
            for o in self.algo_orders.values()
            if o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def open_order_symbols(self) -> set[str]:
        """Symbols with an open order or a waiting algo order."""
        waiting = {o.symbol for o in self.open_algo_orders()}
        return waiting | {o.symbol for o in self.open_orders()}

    def held_symbols(self) -> set[str]:
        return {s for s, p in self.positions.items() if p.quantity != 0}

    def commission(self, quantity: Decimal, price: Decimal) -> Decimal:
        return money(price * quantity * self.fee_rate)

    def after_fill(
        self, symbol: str, side: Side, quantity: Decimal, price: Decimal
    ) -> tuple[Decimal, dict[str, Position]]:
        """Wallet and positions as a fill would leave them (nothing changes)."""
        position, realized = moved(self.position(symbol), side.sign * quantity, price)
        wallet = self.wallet + realized - self.commission(quantity, price)
        return wallet, {**self.positions, symbol: position}

    def fill(self, order: Order, quantity: Decimal, price: Decimal, time: int) -> Trade:
        """Fill ``order`` with ``quantity`` at ``price``: position, wallet, order, trade."""
        symbol = order.symbol
        position, realized = moved(self.position(symbol), order.side.sign * quantity, price)
        commission = self.commission(quantity, price)
        self.positions[symbol] = replace(position, update_time=time)
        self.wallet += realized - commission
        self.update_time = time
        order.filled(quantity, price, time)
        trade_id = self._next_trade_id.get(symbol, FIRST_ID)
        self._next_trade_id[symbol] = trade_id + 1
        trade = Trade(
            trade_id,
            order.order_id,
            symbol,
            order.side,
            price,
            quantity,
            commission,
            realized,
            time,
        )
        self.trades.setdefault(symbol, []).append(trade)
        return trade
