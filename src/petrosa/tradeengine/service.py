"""Wiring of one trade-engine replica: clients, executor, NATS ingress, leadership."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
import uuid
from dataclasses import dataclass, field

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import ValidationError

from petrosa.client import DataManagerClient, DataManagerError
from petrosa.contracts.signals import DecisionStatus, Signal, SignalAction, SignalDecision
from petrosa.contracts.trading import Position, PositionStatus
from petrosa.coordination import CoordinationError, LeaderElection, Locks
from petrosa.exchange.trading import ExchangePosition, TradingExchange
from petrosa.resilience import full_jitter_backoff
from petrosa.tradeengine.book import as_open
from petrosa.tradeengine.executor import Executor
from petrosa.tradeengine.ingress import SignalConsumer
from petrosa.tradeengine.ledger import SIGNALS, FenceLost
from petrosa.tradeengine.rollover import DailyRollover
from petrosa.tradeengine.settings import TradeEngineSettings

log = logging.getLogger(__name__)
SELFTEST = "tradeengine_selftest"
LEADER_ELECTION = "tradeengine.leader"
MONITOR_EVERY_S = 2.0
"""How often the leader looks for protective orders that filled on the exchange."""
STARTUP_RETRY_MAX_S = 10.0


class NoOpenPosition(LookupError):
    """A close was asked for a symbol without an open position."""


@dataclass
class Reconciliation:
    """Open positions by symbol: what the Data Manager says against what the exchange says."""

    checked_at: float | None = None
    differences: list[str] = field(default_factory=list)


class EngineMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "petrosa_te_decisions", "Signal decisions", ["status"], registry=self.registry
        )
        self.latency = Histogram(
            "petrosa_te_decision_seconds",
            "Signal received → decision durable",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.stages = Histogram(
            "petrosa_te_decision_stage_seconds",
            "Time spent in each step of a decision (arrival: signal timestamp to handling; "
            "lock, read, order, protect, persist, decide)",
            ["stage"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
        )

    def observe_stage(self, stage: str, seconds: float) -> None:
        self.stages.labels(stage).observe(seconds)


class Engine:
    """One replica: the executor, the NATS ingress, leadership and its duties.

    Its collaborators are given, not built here (``petrosa.tradeengine.wiring`` builds them
    from the environment), so a test can run an engine in-process; the engine owns them from
    then on and closes them in :meth:`stop`. ``nats_url`` None: no NATS ingress.
    """

    def __init__(
        self,
        settings: TradeEngineSettings,
        *,
        store: DataManagerClient,
        exchange: TradingExchange,
        locks: Locks,
        nats_url: str | None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.exchange = exchange
        self.locks = locks
        self.metrics = EngineMetrics()
        self.executor = Executor(
            settings, self.store, self.exchange, self.locks, observe=self.metrics.observe_stage
        )
        self.rollover = DailyRollover(
            self.store,
            self.exchange,
            clock=lambda: dt.datetime.now(dt.UTC),
            replica=settings.replica,
        )
        self.selftest_error: str | None = "not run yet"
        self.reconciliation = Reconciliation()
        self.consumer: SignalConsumer | None = None
        if nats_url:
            self.consumer = SignalConsumer(
                nats_url,
                stream=settings.nats_stream,
                subject=settings.nats_subject,
                durable=settings.nats_durable,
                ack_wait_s=settings.nats_ack_wait_s,
                handler=self.handle_payload,
            )
        self.election = LeaderElection(
            self.locks, LEADER_ELECTION, settings.replica, on_change=self._leadership
        )
        self._leader_task: asyncio.Task[None] | None = None
        self._startup: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Serve at once; take work only after the Data Manager passed the self-test."""
        self._startup = asyncio.create_task(self._prepare(), name="startup")

    async def _prepare(self) -> None:
        attempt = 0
        while True:
            attempt += 1
            await self.self_test()
            if self.selftest_error is None:
                try:
                    await self.executor.ledger.prepare()
                    await self.rollover.prepare()
                    break
                except DataManagerError as error:
                    self.selftest_error = f"data manager: {error}"
            await asyncio.sleep(
                full_jitter_backoff(
                    attempt, initial_s=0.5, max_s=STARTUP_RETRY_MAX_S, random=random.random
                )
            )
        self.election.start()
        if self.consumer is not None:
            await self.consumer.start()

    async def stop(self) -> None:
        if self._startup is not None:
            self._startup.cancel()
            await asyncio.gather(self._startup, return_exceptions=True)
        if self.consumer is not None:
            await self.consumer.stop()
        await self.election.resign()
        if self._leader_task is not None:
            self._leader_task.cancel()
        await self.locks.close()
        await self.exchange.close()
        await self.store.close()

    async def self_test(self) -> None:
        """Write a document through the Data Manager and read it back (readiness needs it)."""
        marker = {"_id": f"{self.settings.replica}-{uuid.uuid4().hex}", "at": time.time()}
        try:
            await self.store.insert_one(SELFTEST, marker)
            found = await self.store.query(SELFTEST, {"_id": marker["_id"]}, limit=1)
            if len(found) != 1 or found[0].get("at") != marker["at"]:
                raise RuntimeError("the document read back differs from the one written")
            await self.store.delete(SELFTEST, {"_id": marker["_id"]})
        except (DataManagerError, RuntimeError) as error:
            self.selftest_error = f"data manager self-test failed: {error}"
            log.error(self.selftest_error)
            return
        self.selftest_error = None

    async def submit(self, signal: Signal) -> SignalDecision:
        started = time.perf_counter()
        decision = await self.executor.handle(signal)
        self.metrics.decisions.labels(decision.status.value).inc()
        self.metrics.latency.observe(time.perf_counter() - started)
        return decision

    async def close_position(self, symbol: str, request_id: str | None = None) -> SignalDecision:
        """Close ``symbol``'s open position at market through the signal pipeline (decided
        once, recorded with its reason, the order's client id derived from the signal id).

        The close signal's id is ``api-close:<request_id>`` when the caller gives one, else
        ``api-close:<position id>``: a retried close never closes twice. Without a request id
        and with no open position, :class:`NoOpenPosition` is raised.
        """
        if request_id is None:
            open_now = await self.store.get_open_positions(symbol=symbol)
            if not open_now:
                raise NoOpenPosition(f"no open position on {symbol}")
            key = open_now[0].position_id
        else:
            key = request_id
        signal = Signal(
            signal_id=f"api-close:{key}",
            strategy_id="api",
            symbol=symbol,
            action=SignalAction.CLOSE,
            confidence=1.0,
            price=await self.exchange.mark_price(symbol),
            timestamp=dt.datetime.now(dt.UTC),
        )
        return await self.submit(signal)

    async def handle_payload(self, payload: bytes) -> bool:
        """A NATS message; True when it may be acked."""
        try:
            signal = Signal.model_validate_json(payload)
        except ValidationError as error:
            await self._record_invalid(payload, error)
            return True
        try:
            decision = await self.submit(signal)
        except (FenceLost, CoordinationError, DataManagerError) as error:
            log.info("signal %s not decided here (%s); redelivery will settle it", signal.id, error)
            return False
        log.info("signal %s: %s (%s)", signal.id, decision.status.value, decision.reason)
        return True

    async def _record_invalid(self, payload: bytes, error: ValidationError) -> None:
        """Refused payloads are recorded too, under their signal id (or a hash of them)."""
        try:
            raw = orjson.loads(payload)
            given = raw.get("signal_id") if isinstance(raw, dict) else None
        except orjson.JSONDecodeError:
            given = None
        signal_id = (
            str(given) if given else f"invalid-{uuid.uuid5(uuid.NAMESPACE_OID, payload.hex())}"
        )
        first = error.errors()[0]
        reason = f"invalid: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        decision = SignalDecision(
            signal_id=signal_id,
            status=DecisionStatus.REJECTED,
            reason=reason,
            decided_at=dt.datetime.now(dt.UTC),
            replica=self.settings.replica,
        )
        self.metrics.decisions.labels(DecisionStatus.REJECTED.value).inc()
        await self.store.insert_one(
            SIGNALS,
            {"_id": signal_id, "stage": "done", "decision": decision.model_dump(mode="json")},
        )

    def _leadership(self, leading: bool) -> None:
        if leading:
            self._leader_task = asyncio.create_task(self._lead(), name="leader-duties")
        elif self._leader_task is not None:
            self._leader_task.cancel()

    async def _lead(self) -> None:
        """Leader duties: apply filled protective orders; reconcile against the exchange;
        close and open the UTC days of the daily P&L rollover."""
        next_reconcile = 0.0
        while self.election.is_leader:
            try:
                await self.monitor_protection()
                if time.monotonic() >= next_reconcile:
                    await self.reconcile()
                    await self.mark_to_market()
                    next_reconcile = time.monotonic() + self.settings.reconcile_every_s
            except Exception as error:  # a failed round is reported, the next one tries again
                log.warning("leader round failed: %s", error)
                self.reconciliation.differences = [f"leader round failed: {error}"]
            try:
                await self.rollover.run_round()
            except Exception as error:  # as above: the next round tries again
                log.warning("daily rollover failed: %s", error)
            await asyncio.sleep(MONITOR_EVERY_S)

    async def monitor_protection(self) -> int:
        applied = 0
        for position in await self.store.get_open_positions():
            applied += await self.executor.settle_protection(position)
        return applied

    async def mark_to_market(self) -> int:
        """Store every open position's unrealized P&L at the current mark price; returns
        how many changed."""
        changed = 0
        for symbol in sorted({p.symbol for p in await self.store.get_open_positions()}):
            changed += await self.executor.mark_to_market(symbol)
        return changed

    async def marked_positions(
        self, status: PositionStatus | None, symbol: str | None, limit: int
    ) -> list[Position]:
        """Positions as stored, open ones with their unrealized P&L at the mark price now."""
        found = await self.store.list_positions(status=status, symbol=symbol, limit=limit)
        open_symbols = sorted({p.symbol for p in found if p.status is PositionStatus.OPEN})
        marks = dict(
            zip(
                open_symbols,
                await asyncio.gather(*(self.exchange.mark_price(s) for s in open_symbols)),
                strict=True,
            )
        )
        return [
            p.model_copy(update={"unrealized_pnl": as_open(p).unrealized(marks[p.symbol])})
            if p.status is PositionStatus.OPEN
            else p
            for p in found
        ]

    async def reconcile(self) -> Reconciliation:
        stored = {p.symbol: p for p in await self.store.get_open_positions()}
        held: dict[str, ExchangePosition] = {p.symbol: p for p in await self.exchange.positions()}
        differences: list[str] = []
        for symbol in sorted(set(stored) | set(held)):
            mine, theirs = stored.get(symbol), held.get(symbol)
            if mine is None and theirs is not None:
                differences.append(f"{symbol}: exchange holds {theirs.quantity}, none stored")
            elif mine is not None and theirs is None:
                differences.append(
                    f"{symbol}: stored {mine.side.value} {mine.quantity}, exchange flat"
                )
            elif mine is not None and theirs is not None:
                signed = mine.quantity if mine.side.value == "long" else -mine.quantity
                if signed != theirs.quantity:
                    differences.append(f"{symbol}: stored {signed}, exchange {theirs.quantity}")
        self.reconciliation = Reconciliation(time.time(), differences)
        for line in differences:
            log.warning("reconciliation: %s", line)
        return self.reconciliation
