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
import datetime as dt
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from petrosa.client import DataManagerClient
from petrosa.contracts.signals import DecisionStatus, Signal, SignalDecision
from petrosa.contracts.trading import Position, PositionSide
from petrosa.coordination import Locks
from petrosa.exchange.trading import (
    InvalidOrder,
    OrderFill,
    OrderRejected,
    OrderSide,
    SymbolNotListed,
    TradingExchange,
    derive_client_order_id,
)
from petrosa.tradeengine.account import AccountCache, MarkCache
from petrosa.tradeengine.book import Book
from petrosa.tradeengine.failpoints import failpoint
from petrosa.tradeengine.ledger import Ledger, Stage
from petrosa.tradeengine.planning import (
    MarketView,
    OrderPlan,
    Rejected,
    SignalRules,
    Sizing,
    plan_order,
    precheck,
)
from petrosa.tradeengine.protection import Protection, with_fees
from petrosa.tradeengine.risk import RiskLimits
from petrosa.tradeengine.settings import TradeEngineSettings

log = logging.getLogger(__name__)

StageObserver = Callable[[str, float], None]
"""Told how long each step of a decision took: arrival (the signal's timestamp to the start
of its handling: transport and queueing), lock, read, order, protect, persist, decide."""


NOT_LISTED = "symbol not listed by the exchange"


class _Stopwatch:
    def __init__(self, observe: StageObserver | None) -> None:
        self.observe = observe
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self.observe is not None:
            self.observe(stage, now - self.last)
        self.last = now


class Executor:
    def __init__(
        self,
        settings: TradeEngineSettings,
        store: DataManagerClient,
        exchange: TradingExchange,
        locks: Locks,
        *,
        observe: StageObserver | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.settings = settings
        self.observe = observe
        self.clock = clock
        self.store = store
        self.exchange = exchange
        self.locks = locks
        self.ledger = Ledger(store, settings.replica)
        self.book = Book(store)
        self.protection = Protection(settings, exchange, self.book, locks)
        self.accounts = AccountCache(exchange, settings.account_cache_s)
        self.marks = MarkCache(exchange, settings.account_cache_s)
        self.rules = SignalRules(
            symbols=settings.symbols,
            max_age_s=settings.max_signal_age_s,
            max_clock_skew_s=settings.max_clock_skew_s,
        )
        self.sizing = Sizing(
            default_notional=settings.default_notional,
            max_price_deviation_pct=settings.max_price_deviation_pct,
        )
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
            arrival = (self.clock() - signal.timestamp).total_seconds()
            self.observe("arrival", max(arrival, 0.0))  # a skewed clock is not a latency
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
            except SymbolNotListed:  # it can never succeed: decided now, not redelivered
                decision = self._decision(signal, DecisionStatus.REJECTED, NOT_LISTED)
            else:
                decision = self._decision(
                    signal, DecisionStatus.EXECUTED, "order filled", order=order
                )
            held.ensure_valid()
            await self.ledger.decide(signal.id, held.token, decision)
            watch.lap("decide")
            return decision

    async def settle_protection(self, position: Position) -> int:
        """Apply stop-loss / take-profit orders of ``position`` that filled on the exchange
        (leader duty); returns how many were applied."""
        return await self.protection.settle(position)

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

    async def _claim_and_read(
        self, signal: Signal, token: int
    ) -> tuple[dict[str, Any], MarketView | None]:
        """The ledger claim and, for a signal that may trade, every read its plan needs,
        in one round of concurrent requests (wasted only on duplicates)."""
        try:
            precheck(signal, self.rules, self.clock())
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
        (positions, marks), daily, account, filters, mark = await asyncio.gather(
            self._open_positions_marked(symbol),
            self.store.get_daily_pnl(self.clock().date()),
            self.accounts.get(),
            self.exchange.symbol_filters(symbol),
            self.exchange.mark_price(symbol),
        )
        return MarketView(positions, daily, account, filters, mark, marks)

    async def _open_positions_marked(
        self, symbol: str
    ) -> tuple[list[Position], dict[str, Decimal]]:
        """Every open position, and the mark prices of the other symbols holding them (read
        together once the positions are known, reused for ``account_cache_s``; ``symbol``'s
        own mark is read fresh beside).

        A mark that cannot be read leaves its symbol out: exposure then counts that one
        position at its entry price, with a warning, rather than one unreadable symbol (say,
        one the exchange no longer lists) stopping every decision on every other symbol."""
        positions = await self.store.get_open_positions()
        others = sorted({p.symbol for p in positions} - {symbol})
        read = await asyncio.gather(
            *(self.marks.get(other) for other in others), return_exceptions=True
        )
        marks: dict[str, Decimal] = {}
        for other, outcome in zip(others, read, strict=True):
            if isinstance(outcome, Exception):
                log.warning(
                    "mark price of %s unreadable (%s); its exposure counts at entry price",
                    other,
                    outcome,
                )
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                marks[other] = outcome
        return positions, marks

    def _plan(self, signal: Signal, view: MarketView) -> OrderPlan:
        return plan_order(signal, view, self.limits, self.sizing, self.clock())

    async def _execute_fresh(
        self,
        signal: Signal,
        view: MarketView,
        token: int,
        still_mine: Callable[[], None],
        watch: _Stopwatch,
    ) -> OrderFill:
        """A signal no replica has touched: nothing to look up before placing."""
        precheck(signal, self.rules, self.clock())
        current = view.position(signal.symbol)
        plan = self._plan(signal, view)
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
            protective = await self.protection.place(
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
            await self.protection.cancel(signal.symbol, current.metadata.get("protective", []))
        watch.lap("persist")
        return order

    async def _execute(
        self,
        signal: Signal,
        record: dict[str, Any],
        token: int,
        still_mine: Callable[[], None],
    ) -> OrderFill:
        """The careful path: a claim taken over (or whose reads failed) resumes at its
        recorded stage, asking the exchange first whether its order was already placed."""
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
            precheck(signal, self.rules, self.clock())
            view = await self._read(signal.symbol)
            plan = self._plan(signal, view)
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
            await self.protection.cancel_after_close(signal.symbol)
        else:
            await self.protection.protect_resumed(signal, order, token)
        return order

    async def _with_fees(self, order: OrderFill) -> OrderFill:
        return await with_fees(self.exchange, order)

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
            decided_at=self.clock(),
            replica=self.settings.replica,
        )


def _opened_side(side: OrderSide) -> PositionSide:
    return PositionSide.LONG if side is OrderSide.BUY else PositionSide.SHORT


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
