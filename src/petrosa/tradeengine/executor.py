"""Signal → decision, at most once per signal id, across replicas and redeliveries.

Under the symbol's lease lock (fencing token), the signal's ledger record is claimed; a
record already done means a duplicate. Execution then moves through recorded stages —
ordered, done — so a replica taking over after a crash resumes where the previous
one stopped. The entry order's client order id is derived from the signal id: if the
previous holder placed it before dying, placing again returns that same order.

A fresh claim (the ledger record was created by this call) takes the fast path: the claim
and every read the plan needs go out together, the order is placed without a prior
look-up, and the position, P&L event and order record are written together before the
decision. A taken-over claim takes the careful path that looks at the exchange first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal
from typing import Any

from petrosa.client import DataManagerClient
from petrosa.contracts.signals import DecisionStatus, Signal, SignalAction, SignalDecision
from petrosa.contracts.trading import DailyPnl, Position, PositionSide
from petrosa.coordination import Locks
from petrosa.exchange.trading import (
    AccountSnapshot,
    InvalidOrder,
    OrderFill,
    OrderRejected,
    OrderSide,
    ProtectiveKind,
    SymbolFilters,
    TradingExchange,
    UnknownOrder,
    derive_client_order_id,
)
from petrosa.tradeengine.account import AccountCache
from petrosa.tradeengine.book import Book
from petrosa.tradeengine.failpoints import failpoint
from petrosa.tradeengine.ledger import Ledger, Stage
from petrosa.tradeengine.risk import RiskLimits, RiskSnapshot, check_order
from petrosa.tradeengine.settings import TradeEngineSettings

log = logging.getLogger(__name__)
HUNDRED = Decimal(100)

StageObserver = Callable[[str, float], None]
"""Told how long each step of a decision took: arrival (the signal's timestamp to the start
of its handling: transport and queueing), lock, read, order, protect, persist, decide."""


class _Stopwatch:
    def __init__(self, observe: StageObserver | None) -> None:
        self.observe = observe
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self.observe is not None:
            self.observe(stage, now - self.last)
        self.last = now


@dataclass(frozen=True)
class OrderPlan:
    side: OrderSide
    quantity: Decimal
    reduce_only: bool
    added_notional: Decimal


@dataclass(frozen=True)
class MarketView:
    """What a decision reads, fetched together with the claim."""

    positions: list[Position]
    """Every open position (exposure), this symbol's included."""
    daily: DailyPnl
    account: AccountSnapshot
    filters: SymbolFilters
    mark_price: Decimal

    def position(self, symbol: str) -> Position | None:
        return next((p for p in self.positions if p.symbol == symbol), None)


class Rejected(Exception):
    """The signal is refused; the message is the recorded reason."""


class Executor:
    def __init__(
        self,
        settings: TradeEngineSettings,
        store: DataManagerClient,
        exchange: TradingExchange,
        locks: Locks,
        *,
        observe: StageObserver | None = None,
    ) -> None:
        self.settings = settings
        self.observe = observe
        self.store = store
        self.exchange = exchange
        self.locks = locks
        self.ledger = Ledger(store, settings.replica)
        self.book = Book(store)
        self.accounts = AccountCache(exchange, settings.account_cache_s)
        self.limits = RiskLimits(
            max_position_notional=settings.max_position_notional,
            max_total_exposure=settings.max_total_exposure,
            max_daily_loss=settings.max_daily_loss,
            max_open_positions=settings.max_open_positions,
            cooldown=settings.cooldown,
        )

    async def handle(self, signal: Signal) -> SignalDecision:
        """Decide and, if accepted, execute ``signal``; the decision is durable on return.
        (Tasks of this replica on one symbol take turns inside ``Locks.hold`` before they
        compete with other replicas on the store.)"""
        name = f"symbol.{signal.symbol}"
        watch = _Stopwatch(self.observe)
        if self.observe is not None:
            self.observe("arrival", (dt.datetime.now(dt.UTC) - signal.timestamp).total_seconds())
        async with self.locks.hold(
            name, self.settings.replica, self.settings.lock_ttl_s, wait=self.settings.lock_wait_s
        ) as held:
            watch.lap("lock")
            record, view = await self._claim_and_read(signal, held.token)
            watch.lap("read")
            if record.get("stage") == Stage.DONE.value:
                previous = SignalDecision.model_validate(record["decision"])
                return previous.model_copy(update={"status": DecisionStatus.DUPLICATE})
            try:
                if record.get("created") and view is not None:
                    order = await self._execute_fresh(
                        signal, view, held.token, held.ensure_valid, watch
                    )
                else:
                    order = await self._execute(signal, record, held.token, held.ensure_valid)
            except (Rejected, InvalidOrder, OrderRejected) as refusal:
                decision = self._decision(signal, DecisionStatus.REJECTED, str(refusal))
            else:
                decision = self._decision(
                    signal, DecisionStatus.EXECUTED, "order filled", order=order
                )
            held.ensure_valid()
            await self.ledger.decide(signal.id, held.token, decision)
            watch.lap("decide")
            return decision

    async def _claim_and_read(
        self, signal: Signal, token: int
    ) -> tuple[dict[str, Any], MarketView | None]:
        """The ledger claim and, for a signal that may trade, every read its plan needs,
        in one round of concurrent requests (wasted only on duplicates)."""
        try:
            self._precheck(signal)
        except Rejected:
            return await self.ledger.claim(signal, token), None
        record, view = await asyncio.gather(
            self.ledger.claim(signal, token), self._read(signal.symbol), return_exceptions=True
        )
        if isinstance(record, BaseException):
            raise record
        if isinstance(view, BaseException):
            # The careful path reads again, where a refusal is recorded as the decision.
            log.info("reads for %s failed (%s); taking the careful path", signal.id, view)
            return record, None
        return record, view

    async def _read(self, symbol: str) -> MarketView:
        positions, daily, account, filters, mark = await asyncio.gather(
            self.store.get_open_positions(),
            self.store.get_daily_pnl(dt.datetime.now(dt.UTC).date()),
            self.accounts.get(),
            self.exchange.symbol_filters(symbol),
            self.exchange.mark_price(symbol),
        )
        return MarketView(positions, daily, account, filters, mark)

    async def _execute_fresh(
        self,
        signal: Signal,
        view: MarketView,
        token: int,
        still_mine: Callable[[], None],
        watch: _Stopwatch,
    ) -> OrderFill:
        """A signal no replica has touched: nothing to look up before placing."""
        self._precheck(signal)
        current = view.position(signal.symbol)
        plan = self._plan(signal, view, current)
        still_mine()
        order = await self.exchange.place_market_order(
            signal.symbol, plan.side, plan.quantity,
            client_order_id=derive_client_order_id(signal.id, "entry"),
            reduce_only=plan.reduce_only, mark_price=view.mark_price, first_attempt=True,
        )  # fmt: skip
        failpoint("after_order")
        watch.lap("order")
        protective: list[str] = []
        if not order.reduce_only:
            protective = await self._place_protection(
                signal, _opened_side(order.side), order, view.filters
            )
            watch.lap("protect")
        still_mine()
        await asyncio.gather(
            self.ledger.record_order(_order_document(order, signal)),
            self.book.apply_new(
                signal.strategy_id, order, current, fence=token, protective=protective
            ),
        )
        if order.reduce_only and current is not None:
            await self._cancel_orders(signal.symbol, current.metadata.get("protective", []))
        watch.lap("persist")
        return order

    async def _execute(
        self,
        signal: Signal,
        record: dict[str, Any],
        token: int,
        still_mine: Callable[[], None],
    ) -> OrderFill:
        stage = Stage(record.get("stage", Stage.CLAIMED.value))
        entry_id = derive_client_order_id(signal.id, "entry")
        order: OrderFill | None = None
        if stage is Stage.CLAIMED and not record.get("created"):
            # Taking over from a replica that died: it may have placed the order already.
            order = await self.exchange.get_order(signal.symbol, entry_id)
            if order is not None:
                order = order if order.commission is not None else await self._with_fees(order)
                await asyncio.gather(
                    self.ledger.record_order(_order_document(order, signal)),
                    self.ledger.advance(signal.id, token, Stage.ORDERED, order_id=order.order_id),
                )
                stage = Stage.ORDERED
        if stage is Stage.CLAIMED:
            self._precheck(signal)
            view = await self._read(signal.symbol)
            plan = self._plan(signal, view, view.position(signal.symbol))
            still_mine()
            order = await self.exchange.place_market_order(
                signal.symbol, plan.side, plan.quantity,
                client_order_id=entry_id, reduce_only=plan.reduce_only,
            )  # fmt: skip
            failpoint("after_order")
            await asyncio.gather(
                self.ledger.record_order(_order_document(order, signal)),
                self.ledger.advance(signal.id, token, Stage.ORDERED, order_id=order.order_id),
            )
            stage = Stage.ORDERED
        if order is None:
            order = await self.exchange.get_order(signal.symbol, entry_id)
            if order is None:
                raise Rejected("the recorded order is unknown to the exchange")
            if order.commission is None:
                order = await self._with_fees(order)
        if stage is Stage.ORDERED:
            # No separate "applied" stage: applying is idempotent (the position remembers its
            # fills), so a replica resuming at "ordered" may simply apply again.
            still_mine()
            await self.book.apply(signal.strategy_id, signal.symbol, order, fence=token)
        if order.reduce_only:
            await self._cancel_protection(signal.symbol)
        else:
            await self._protect(signal, order, token)
        return order

    async def _cancel_protection(self, symbol: str) -> None:
        """After a close, the position's resting stop-loss/take-profit orders go too."""
        if await self.book.open_position(symbol) is not None:
            return
        for resting in await self.exchange.open_orders(symbol):
            if resting.close_position or resting.reduce_only:
                with contextlib.suppress(UnknownOrder):  # it filled or went meanwhile
                    await self.exchange.cancel_order(symbol, resting.client_order_id)

    async def _with_fees(self, order: OrderFill) -> OrderFill:
        fills = await self.exchange.fills(order.symbol, order.order_id)
        return replace(
            order,
            commission=sum((f.commission for f in fills), Decimal(0)),
            realized_pnl=sum((f.realized_pnl for f in fills), Decimal(0)),
        )

    def _precheck(self, signal: Signal) -> None:
        if signal.action is SignalAction.HOLD:
            raise Rejected("hold: nothing to do")
        if signal.symbol not in self.settings.symbols:
            raise Rejected(f"unknown symbol {signal.symbol}")
        age = (dt.datetime.now(dt.UTC) - signal.timestamp).total_seconds()
        if age > self.settings.max_signal_age_s:
            raise Rejected(f"stale: {age:.0f}s old (max {self.settings.max_signal_age_s:g}s)")

    def _plan(self, signal: Signal, view: MarketView, position: Position | None) -> OrderPlan:
        if signal.action is SignalAction.CLOSE or (
            position is not None and _opposes(position.side, signal.action)
        ):
            if position is None:
                raise Rejected("close: no open position")
            side = OrderSide.closing(position.side)
            return OrderPlan(side, position.quantity, reduce_only=True, added_notional=Decimal(0))
        side = OrderSide.BUY if signal.action is SignalAction.BUY else OrderSide.SELL
        price, filters, equity = signal.price, view.filters, view.account.equity
        if signal.quantity is not None:
            wanted = signal.quantity
        elif signal.position_size_pct is not None:
            wanted = equity * signal.position_size_pct / HUNDRED / price
        else:
            wanted = self.settings.default_notional / price
        quantity = filters.order_quantity(_at_least_min_notional(wanted, price, filters), price)
        added = quantity * price
        snapshot = _snapshot(signal.symbol, equity, view.daily.total, view.positions)
        reason = check_order(signal.symbol, added, self.limits, snapshot)
        if reason is not None:
            raise Rejected(f"risk: {reason}")
        return OrderPlan(side, quantity, reduce_only=False, added_notional=added)

    async def _protect(self, signal: Signal, order: OrderFill, token: int) -> None:
        """Stop-loss / take-profit after a confirmed entry fill (resumed decisions)."""
        if not order.is_filled or not _wants_protection(signal):
            return
        position = await self.book.open_position(signal.symbol)
        if position is None:
            return
        filters = await self.exchange.symbol_filters(signal.symbol)
        placed = await self._place_protection(signal, position.side, order, filters)
        if placed:
            await self.book.add_protection(position, placed, fence=token)

    async def _place_protection(
        self, signal: Signal, side: PositionSide, order: OrderFill, filters: SymbolFilters
    ) -> list[str]:
        """Stop-loss / take-profit orders for a confirmed entry fill, on the side that closes
        a ``side`` position, placed together; returns the client ids of those placed."""
        if not order.is_filled or not _wants_protection(signal):
            return []
        closing = OrderSide.closing(side)
        wanted = [
            (kind, filters.round_price(price), derive_client_order_id(signal.id, kind.value))
            for kind, price in _protective_prices(signal, side, order.avg_price)
        ]
        outcomes = await asyncio.gather(
            *(
                self.exchange.place_protective_order(
                    signal.symbol, closing, kind, price, client_order_id=client_id
                )
                for kind, price, client_id in wanted
            ),
            return_exceptions=True,
        )
        placed: list[str] = []
        for (kind, _, client_id), outcome in zip(wanted, outcomes, strict=True):
            if isinstance(outcome, (InvalidOrder, OrderRejected)):
                # The entry stands; a missing stop is reported, not a reason to undo it.
                log.warning(
                    "%s %s for %s not placed: %s", signal.id, kind.value, signal.symbol, outcome
                )
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                placed.append(client_id)
        return placed

    async def _cancel_orders(self, symbol: str, client_order_ids: list[str]) -> None:
        """Cancel resting orders by client id; those already filled or gone are skipped."""

        async def cancel(client_id: str) -> None:
            with contextlib.suppress(UnknownOrder):
                await self.exchange.cancel_order(symbol, client_id)

        await asyncio.gather(*(cancel(client_id) for client_id in client_order_ids))

    async def settle_protection(self, position: Position) -> int:
        """Apply stop-loss / take-profit orders of ``position`` that filled on the exchange
        (leader duty); returns how many were applied. One look at the symbol's resting
        orders per round; only orders no longer resting are looked up, under the symbol's
        lock like any decision."""
        symbol, protective = position.symbol, position.metadata.get("protective") or []
        if not protective:
            return 0
        resting = {order.client_order_id for order in await self.exchange.open_orders(symbol)}
        gone = [client_id for client_id in protective if client_id not in resting]
        if not gone:
            return 0
        applied = 0
        async with self.locks.hold(
            f"symbol.{symbol}", self.settings.replica, self.settings.lock_ttl_s,
            wait=self.settings.lock_wait_s,
        ) as held:  # fmt: skip
            for client_id in gone:
                order = await self.exchange.get_order(symbol, client_id)
                if order is None or not order.is_filled:
                    continue
                held.ensure_valid()
                filled = order if order.commission is not None else await self._with_fees(order)
                await self.book.apply(position.strategy_id, symbol, filled, fence=held.token)
                applied += 1
            if applied:
                await self._cancel_protection(symbol)
        return applied

    async def mark_to_market(self, symbol: str) -> bool:
        """Store the open position's unrealized P&L at the current mark price (leader duty,
        under the symbol's lock so it cannot overwrite a decision's write)."""
        mark = await self.exchange.mark_price(symbol)
        async with self.locks.hold(
            f"symbol.{symbol}", self.settings.replica, self.settings.lock_ttl_s,
            wait=self.settings.lock_wait_s,
        ) as held:  # fmt: skip
            position = await self.book.open_position(symbol)
            if position is None:
                return False
            held.ensure_valid()
            return await self.book.mark(position, mark, fence=held.token)

    def _decision(
        self,
        signal: Signal,
        status: DecisionStatus,
        reason: str,
        *,
        order: OrderFill | None = None,
    ) -> SignalDecision:
        return SignalDecision(
            signal_id=signal.id,
            status=status,
            reason=reason,
            symbol=signal.symbol,
            strategy_id=signal.strategy_id,
            action=signal.action.value,
            client_order_id=None if order is None else order.client_order_id,
            order_id=None if order is None else order.order_id,
            decided_at=dt.datetime.now(dt.UTC),
            replica=self.settings.replica,
        )


def _at_least_min_notional(wanted: Decimal, price: Decimal, filters: SymbolFilters) -> Decimal:
    """Sizes from a notional round down onto the step grid, which can fall just below the
    symbol's minimum notional; then the smallest size that reaches it is used instead (the
    risk checks still apply to the result)."""
    if filters.round_quantity(wanted) * price >= filters.min_notional:
        return wanted
    steps = (filters.min_notional / price / filters.step_size).to_integral_value(ROUND_CEILING)
    return steps * filters.step_size


def _snapshot(
    symbol: str, equity: Decimal, daily_pnl: Decimal, positions: list[Position]
) -> RiskSnapshot:
    mine = [p for p in positions if p.symbol == symbol]
    return RiskSnapshot(
        equity=equity,
        daily_pnl=daily_pnl,
        position_notionals={p.symbol: p.quantity * p.entry_price for p in positions},
        last_entry_at=max((p.updated_at for p in mine), default=None),
    )


def _opened_side(side: OrderSide) -> PositionSide:
    return PositionSide.LONG if side is OrderSide.BUY else PositionSide.SHORT


def _opposes(side: PositionSide, action: SignalAction) -> bool:
    return (side is PositionSide.LONG and action is SignalAction.SELL) or (
        side is PositionSide.SHORT and action is SignalAction.BUY
    )


def _wants_protection(signal: Signal) -> bool:
    levels = (signal.stop_loss, signal.stop_loss_pct, signal.take_profit, signal.take_profit_pct)
    return any(level is not None for level in levels)


def _protective_prices(
    signal: Signal, side: PositionSide, entry: Decimal
) -> list[tuple[ProtectiveKind, Decimal]]:
    """Absolute stop/take prices: below entry for a long's stop, above for a short's."""
    sign = Decimal(1) if side is PositionSide.LONG else Decimal(-1)
    prices: list[tuple[ProtectiveKind, Decimal]] = []
    if signal.stop_loss is not None:
        prices.append((ProtectiveKind.STOP_LOSS, signal.stop_loss))
    elif signal.stop_loss_pct is not None:
        prices.append(
            (ProtectiveKind.STOP_LOSS, entry * (1 - sign * signal.stop_loss_pct / HUNDRED))
        )
    if signal.take_profit is not None:
        prices.append((ProtectiveKind.TAKE_PROFIT, signal.take_profit))
    elif signal.take_profit_pct is not None:
        prices.append(
            (ProtectiveKind.TAKE_PROFIT, entry * (1 + sign * signal.take_profit_pct / HUNDRED))
        )
    return prices


def _order_document(order: OrderFill, signal: Signal) -> dict[str, Any]:
    return {
        "client_order_id": order.client_order_id,
        "signal_id": signal.id,
        "order_id": order.order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "status": order.status.value,
        "quantity": format(order.executed_qty, "f"),
        "avg_price": format(order.avg_price, "f"),
        "commission": None if order.commission is None else format(order.commission, "f"),
        "reduce_only": order.reduce_only,
        "duplicate": order.duplicate,
        "update_time": order.update_time.isoformat(),
    }
