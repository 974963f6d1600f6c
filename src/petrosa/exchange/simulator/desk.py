"""The paper trading desk: one paper account on the simulated USD-M futures market.

Every signed request runs under one lock, synchronously, in two steps::

    open_at(now) ──► catch up: fire the algo orders that trades since the last request
                     crossed, in tape order across symbols, each at its crossing trade
                     (a market order of its own, filled there)
                 ──► act: place, cancel or read, at ``now``

so concurrent requests never see (or fill against) the same state twice. Market orders fill
at the last trade (minus ``slippage_bps``) with the taker fee; ``POST /sim/reset`` reopens
the account with the starting balance.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from petrosa.exchange.simulator import errors, rejections
from petrosa.exchange.simulator.accounts import PaperAccount, Position, Standing, standing
from petrosa.exchange.simulator.algo_orders import AlgoOrder, AlgoOrderRequest, AlgoStatus
from petrosa.exchange.simulator.instruments import Contract, MarketKind
from petrosa.exchange.simulator.market import SyntheticMarket
from petrosa.exchange.simulator.orders import ZERO, Order, OrderRequest, Side, Status
from petrosa.exchange.simulator.prices import (
    Crossing,
    Cursor,
    first_crossing,
    last_price,
    tick_size,
)
from petrosa.exchange.simulator.venue import Venue

BASIS_POINTS = Decimal(10_000)
GENERATED_ID_PREFIX = "paper_"
"""Client order (and algo) ids the desk makes up for orders sent without one, and for the
market orders algo orders place."""
SUPPORTED_QUOTE = "USDT"
"""The paper wallet holds USDT: only USDT-margined symbols trade."""


@dataclass(frozen=True)
class Holding:
    """A symbol's position as the position and account routes show it."""

    symbol: str
    position: Position
    mark: Decimal
    leverage: int
    contract: Contract


class PaperDesk:
    """The paper account and the rules that move it."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self._lock = threading.Lock()
        self._open()

    def _open(self) -> None:
        settings = self.venue.settings
        self.account = PaperAccount(
            wallet=settings.starting_balance,
            fee_rate=settings.taker_fee_rate,
            default_leverage=settings.default_leverage,
        )
        self._cursors: dict[str, Cursor] = {}

    def reset(self) -> None:
        """Reopen the account: starting balance, no orders, positions or trades."""
        with self._lock:
            self._open()

    @contextmanager
    def open_at(self, now: int) -> Iterator[PaperAccount]:
        """Hold the desk for one request at ``now``, with fired algo orders caught up."""
        with self._lock:
            self._catch_up(now)
            yield self.account

    # -- prices -------------------------------------------------------------------------

    def market(self, symbol: str) -> SyntheticMarket:
        """The futures market of a listed, USDT-margined symbol; -1121 for any other."""
        if self.venue.instrument(symbol).quote_asset != SUPPORTED_QUOTE:
            raise errors.invalid_symbol()
        return self.venue.market(MarketKind.FUTURES, symbol)

    def mark(self, symbol: str, now: int) -> Decimal:
        """The mark price: the last trade at ``now``."""
        return last_price(self.market(symbol), now)

    def tradable_symbols(self) -> list[str]:
        """Listed symbols the USDT wallet can trade."""
        instruments = self.venue.instruments.values()
        return [i.symbol for i in instruments if i.quote_asset == SUPPORTED_QUOTE]

    def holdings(self, now: int, symbol: str | None, *, every_symbol: bool) -> list[Holding]:
        """Positions of ``symbol``, or of every symbol with a position or open orders (with
        ``every_symbol``, of every tradable symbol, flat or not)."""
        account = self.account
        if symbol is not None:
            symbols = [symbol]
        elif every_symbol:
            symbols = self.tradable_symbols()
        else:
            symbols = sorted(account.held_symbols() | account.open_order_symbols())
        return [
            Holding(
                name,
                account.position(name),
                self.mark(name, now),
                account.leverage_of(name),
                self.market(name).contract,
            )
            for name in symbols
        ]

    def standing(self, now: int) -> tuple[Standing, dict[str, Decimal]]:
        """The account's margin figures at ``now`` and the marks they used."""
        account = self.account
        symbols = account.held_symbols() | account.open_order_symbols()
        marks = {symbol: self.mark(symbol, now) for symbol in symbols}
        figures = standing(account.wallet, account.positions, marks, account.all_leverage(symbols))
        return figures, marks

    # -- orders -------------------------------------------------------------------------

    def place(self, request: OrderRequest, now: int) -> Order:
        """Accept and fill a new market order, or refuse it like Binance."""
        market = self.market(request.symbol)
        client_id = request.client_order_id
        if client_id is not None and client_id in self.account.by_client_id:
            raise rejections.duplicate_client_order_id()
        order = self._new_order(
            request.symbol,
            request.side,
            request.quantity,
            now,
            client_id,
            reduce_only=request.reduce_only,
        )
        self._fill_market(order, last_price(market, now), market, now)
        self.account.add_order(order)
        return order

    def _new_order(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        now: int,
        client_id: str | None,
        *,
        reduce_only: bool,
    ) -> Order:
        order_id = self.account.next_order_id(symbol)
        return Order(
            symbol=symbol,
            order_id=order_id,
            client_order_id=client_id or f"{GENERATED_ID_PREFIX}{symbol}_{order_id}",
            side=side,
            orig_qty=quantity,
            reduce_only=reduce_only,
            time=now,
            update_time=now,
        )

    def place_algo(self, request: AlgoOrderRequest, now: int) -> AlgoOrder:
        """Accept a new algo order, or refuse it like Binance: -2021 when the last trade has
        crossed its trigger already, -4164 when it would open a position below the minimum
        notional at its trigger."""
        market = self.market(request.symbol)
        account = self.account
        client_id = request.client_algo_id
        if client_id is not None and client_id in account.algo_by_client_id:
            raise rejections.duplicate_client_order_id()
        algo_id = account.next_algo_id()
        order = AlgoOrder(
            algo_id=algo_id,
            client_algo_id=client_id or f"{GENERATED_ID_PREFIX}algo_{algo_id}",
            symbol=request.symbol,
            side=request.side,
            order_type=request.order_type,
            quantity=request.quantity,
            trigger_price=request.trigger_price,
            reduce_only=request.reduce_only,
            close_position=request.close_position,
            working_type=request.working_type,
            price_protect=request.price_protect,
            create_time=now,
            update_time=now,
        )
        if order.fires_at(last_price(market, now)):
            raise rejections.would_immediately_trigger()
        opening = not (order.reduce_only or order.close_position)
        minimum = Decimal(market.contract.min_notional)
        if opening and order.quantity * order.trigger_price < minimum:
            raise rejections.min_notional(market.contract.min_notional)
        self._cursors.setdefault(order.symbol, Cursor(now))
        account.add_algo_order(order)
        return order

    def _fill_market(self, order: Order, price: Decimal, market: SyntheticMarket, now: int) -> None:
        quantity = order.orig_qty
        if order.reduce_only:
            reducible = self.account.position(order.symbol).reducible_by(order.side)
            if reducible == 0:
                raise rejections.reduce_only_rejected()
            quantity = min(quantity, reducible)
        elif quantity * price < Decimal(market.contract.min_notional):
            raise rejections.min_notional(market.contract.min_notional)
        fill_price = self._slipped(price, order.side, market)
        if not self._margin_allows(order, quantity, fill_price, now):
            raise rejections.margin_insufficient()
        self.account.fill(order, quantity, fill_price, now)

    def _slipped(self, price: Decimal, side: Side, market: SyntheticMarket) -> Decimal:
        """``price`` moved ``slippage_bps`` against the taker, onto the tick grid."""
        bps = self.venue.settings.slippage_bps
        if bps == 0:
            return price
        moved = price * (1 + side.sign * bps / BASIS_POINTS)
        rounding = ROUND_CEILING if side is Side.BUY else ROUND_FLOOR
        return moved.quantize(tick_size(market), rounding=rounding)

    def _margin_allows(self, order: Order, quantity: Decimal, price: Decimal, now: int) -> bool:
        """Whether the account can carry the fill (fills that only reduce always can)."""
        account = self.account
        held = account.position(order.symbol).quantity
        if abs(held + order.side.sign * quantity) <= abs(held):
            return True
        wallet, positions = account.after_fill(order.symbol, order.side, quantity, price)
        symbols = {s for s, p in positions.items() if p.quantity != 0}
        marks = {s: price if s == order.symbol else self.mark(s, now) for s in symbols}
        after = standing(wallet, positions, marks, account.all_leverage(symbols))
        return after.available >= 0

    def cancel(self, order: Order, now: int) -> Order:
        """Cancel a resting order; -2011 when it is no longer open (a market order never
        rests: it filled or was refused when placed)."""
        if not order.is_open:
            raise rejections.unknown_order_sent()
        order.ended(Status.CANCELED, now)
        return order

    def cancel_algo(self, order: AlgoOrder, now: int) -> AlgoOrder:
        """Cancel a waiting algo order; -2011 when it fired or ended already."""
        if not order.is_open:
            raise rejections.unknown_order_sent()
        order.ended(AlgoStatus.CANCELED, now)
        return order

    # -- algo orders ----------------------------------------------------------------------

    def _catch_up(self, now: int) -> None:
        """Fire, in tape order, every algo order a trade up to ``now`` crossed."""
        pending: dict[str, Crossing | None] = {
            symbol: self._next_crossing(symbol, now) for symbol in self._waiting_symbols()
        }
        while True:
            found = [c for c in pending.values() if c is not None]
            if not found:
                break
            first = min(found, key=lambda c: (c.at, c.order.symbol))
            self._fire(first)
            self._cursors[first.order.symbol] = first.at
            pending[first.order.symbol] = self._next_crossing(first.order.symbol, now)
        for symbol in pending:
            self._cursors[symbol] = Cursor(now)

    def _waiting_symbols(self) -> set[str]:
        return {o.symbol for o in self.account.open_algo_orders()}

    def _next_crossing(self, symbol: str, now: int) -> Crossing | None:
        orders = self.account.open_algo_orders(symbol)  # oldest first: ties go to it
        if not orders:
            return None
        after = self._cursors.get(symbol, Cursor(min(o.create_time for o in orders)))
        return first_crossing(self.market(symbol), orders, after, now)

    def _fire(self, crossing: Crossing) -> None:
        """Place the fired algo order's market order and fill it at the crossing trade, or
        reject it when there is nothing it may do (no position to close, no margin to
        open)."""
        algo, time = crossing.order, crossing.at.time
        reducible = self.account.position(algo.symbol).reducible_by(algo.side)
        if algo.close_position:
            quantity = reducible
        elif algo.reduce_only:
            quantity = min(algo.quantity, reducible)
        else:
            quantity = algo.quantity
        order = self._new_order(
            algo.symbol,
            algo.side,
            algo.quantity or quantity,
            time,
            None,
            reduce_only=algo.reduce_only or algo.close_position,
        )
        price = self._slipped(crossing.price, algo.side, self.market(algo.symbol))
        if quantity == ZERO or not self._margin_allows(order, quantity, price, time):
            algo.ended(AlgoStatus.REJECTED, time)
            return
        self.account.fill(order, quantity, price, time)
        self.account.add_order(order)
        algo.finished(order.order_id, price, time)
