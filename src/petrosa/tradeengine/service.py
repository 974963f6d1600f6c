"""Wiring of one trade-engine replica: executor, NATS ingress, leadership and its duties."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

from nats.errors import Error as NatsError
from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import ValidationError

from petrosa.bus import BusUnavailable
from petrosa.client import DataManagerClient, DataManagerError
from petrosa.contracts.signals import (
    DecisionStatus,
    MarkedPosition,
    Signal,
    SignalAction,
    SignalDecision,
    is_identifier,
    refused_signal_id,
)
from petrosa.contracts.trading import Position, PositionStatus
from petrosa.coordination import LeaderElection, Locks
from petrosa.exchange.trading import TradingExchange
from petrosa.resilience import full_jitter_backoff
from petrosa.tradeengine.book import as_open
from petrosa.tradeengine.dead_letters import DeadLetter, DeadLetters
from petrosa.tradeengine.executor import Executor
from petrosa.tradeengine.failures import try_again
from petrosa.tradeengine.ingress import Outcome, SignalConsumer, Verdict
from petrosa.tradeengine.leader import LeaderDuties, Reconciliation
from petrosa.tradeengine.ledger import SIGNALS
from petrosa.tradeengine.reasons import Reason, safe_description
from petrosa.tradeengine.rollover import DailyRollover
from petrosa.tradeengine.settings import TradeEngineSettings
from petrosa.tradeengine.validation import clip, describe

log = logging.getLogger(__name__)
SELFTEST = "tradeengine_selftest"
LEADER_ELECTION = "tradeengine.leader"
STARTUP_RETRY_MAX_S = 10.0
CLOSE_PREFIX = "api-close:"


class NoOpenPosition(LookupError):
    """A close was asked for a symbol without an open position."""


class SelfTestFailed(Exception):
    """The Data Manager write-then-read self-test did not pass (yet)."""


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
    then on and closes them in :meth:`stop`. ``nats_url`` None: no NATS ingress. ``clock``
    (UTC now) judges signal ages and dates the daily P&L: a test on the simulator's time.
    """

    def __init__(
        self,
        settings: TradeEngineSettings,
        *,
        store: DataManagerClient,
        exchange: TradingExchange,
        locks: Locks,
        nats_url: str | None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.exchange = exchange
        self.locks = locks
        self.metrics = EngineMetrics()
        self.executor = Executor(
            settings,
            self.store,
            self.exchange,
            self.locks,
            clock=clock,
            observe=self.metrics.observe_stage,
        )
        self.rollover = DailyRollover(
            self.store,
            self.exchange,
            clock=clock,
            replica=settings.replica,
        )
        self.duties = LeaderDuties(
            store=self.store,
            exchange=self.exchange,
            executor=self.executor,
            rollover=self.rollover,
            reconcile_every_s=settings.reconcile_every_s,
        )
        self.dead_letters = DeadLetters(self.store)
        self.selftest_error: str | None = "not run yet"
        """Why the Data Manager self-test did not pass, in full (for the log)."""
        self.selftest_reason: Reason | None = Reason.STARTING
        """The same as a reason code (for readiness: no transport or driver text)."""
        self.consumer: SignalConsumer | None = None
        if nats_url:
            self.consumer = SignalConsumer(
                nats_url,
                stream=settings.nats_stream,
                subject=settings.nats_subject,
                durable=settings.nats_durable,
                ack_wait_s=settings.nats_ack_wait_s,
                max_deliver=settings.nats_max_deliver,
                handler=self.handle_payload,
                dead_letter=self.bury,
            )
        self.election = LeaderElection(
            self.locks, LEADER_ELECTION, settings.replica, on_change=self._leadership
        )
        self._leader_task: asyncio.Task[None] | None = None
        self._startup: asyncio.Task[None] | None = None

    @property
    def reconciliation(self) -> Reconciliation:
        return self.duties.reconciliation

    async def start(self) -> None:
        """Serve at once; take work only after the Data Manager passed the self-test."""
        self._startup = asyncio.create_task(self._prepare(), name="startup")

    async def _prepare(self) -> None:
        await self._retrying("data manager", self._prepare_store)
        self.election.start()
        if self.consumer is not None:
            await self._retrying("NATS consumer", self.consumer.start)

    async def _prepare_store(self) -> None:
        await self.self_test()
        if self.selftest_error is not None:
            raise SelfTestFailed(self.selftest_error)
        try:
            await self.executor.ledger.prepare()
            await self.rollover.prepare()
            await self.dead_letters.prepare()
        except DataManagerError as error:
            self.selftest_error = f"data manager: {error}"
            self.selftest_reason = _selftest_reason(error)
            raise

    async def _retrying(self, what: str, step: Callable[[], Awaitable[None]]) -> None:
        """``step`` until it succeeds, with backoff; failures are logged (a traceback only
        for what is not a known outage)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await step()
                return
            except Exception as error:
                if try_again(error) is None and not _expected_at_startup(error):
                    log.exception("start-up: %s failed; trying again", what)
                else:
                    log.warning("start-up: %s not ready: %s", what, error)
            await asyncio.sleep(
                full_jitter_backoff(
                    attempt, initial_s=0.5, max_s=STARTUP_RETRY_MAX_S, random=random.random
                )
            )

    async def stop(self) -> None:
        if self._startup is not None:
            self._startup.cancel()
            await asyncio.gather(self._startup, return_exceptions=True)
        if self.consumer is not None:
            await self.consumer.stop()
        await self.election.resign()
        if self._leader_task is not None:
            self._leader_task.cancel()
            await asyncio.gather(self._leader_task, return_exceptions=True)
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
            self.selftest_reason = _selftest_reason(error)
            log.error(self.selftest_error)
            return
        self.selftest_error = None
        self.selftest_reason = None

    def problems(self) -> list[str]:
        """What the leader's duties fail on, per symbol (the engine still serves the rest)."""
        return self.duties.failures.problems()

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
        ``api-close:<position id>`` (a digest of it when that would be too long): a retried
        close never closes twice. Without a request id and with no open position,
        :class:`NoOpenPosition` is raised.
        """
        if request_id is None:
            open_now = await self.store.get_open_positions(symbol=symbol)
            if not open_now:
                raise NoOpenPosition(f"no open position on {symbol}")
            key = open_now[0].position_id
        else:
            key = request_id
        signal = Signal(
            signal_id=close_signal_id(key),
            strategy_id="api",
            symbol=symbol,
            action=SignalAction.CLOSE,
            confidence=1.0,
            price=await self.exchange.mark_price(symbol),
            timestamp=dt.datetime.now(dt.UTC),
        )
        return await self.submit(signal)

    async def handle_payload(self, payload: bytes) -> Verdict:
        """A NATS message: how it ends (see ``petrosa.tradeengine.ingress``)."""
        try:
            signal = Signal.model_validate_json(payload)
        except ValidationError as error:
            return await self._record_invalid(payload, error)
        try:
            decision = await self.submit(signal)
        except Exception as error:
            hint = try_again(error)
            if hint is None:
                raise  # unexpected: the consumer logs it and redelivers (a limited number)
            log.info("signal %s not decided here (%s); redelivery will settle it", signal.id, error)
            return Verdict(Outcome.RETRY, hint.cause)
        log.info("signal %s: %s (%s)", signal.id, decision.status.value, decision.reason)
        return Verdict(Outcome.DECIDED)

    async def _record_invalid(self, payload: bytes, error: ValidationError) -> Verdict:
        """Refused payloads are recorded too, under their signal id when it is a valid one,
        else a digest of the payload; what cannot be recorded at all is dead-lettered."""
        signal_id = refused_signal_id(payload)
        reason = clip(f"invalid: {describe(error.errors()[0])}")
        decision = SignalDecision(
            signal_id=signal_id,
            status=DecisionStatus.REJECTED,
            reason=reason,
            decided_at=dt.datetime.now(dt.UTC),
            replica=self.settings.replica,
        )
        try:
            await self.store.insert_one(
                SIGNALS,
                {"_id": signal_id, "stage": "done", "decision": decision.model_dump(mode="json")},
            )
        except DataManagerError as failure:
            hint = try_again(failure)
            if hint is not None:
                return Verdict(Outcome.RETRY, f"{reason}; not recorded: {hint.cause}")
            return Verdict(Outcome.DEAD, f"{reason}; cannot be recorded: {failure}")
        self.metrics.decisions.labels(DecisionStatus.REJECTED.value).inc()
        log.info("signal %s: rejected (%s)", signal_id, reason)
        return Verdict(Outcome.REFUSED, reason)

    async def bury(self, letter: DeadLetter) -> None:
        """Keep a message the ingress gave up on (a retry keeps nothing twice)."""
        await self.dead_letters.record(letter, replica=self.settings.replica)

    def _leadership(self, leading: bool) -> None:
        if leading:
            self._leader_task = asyncio.create_task(
                self.duties.run(lambda: self.election.is_leader), name="leader-duties"
            )
        elif self._leader_task is not None:
            self._leader_task.cancel()

    async def marked_positions(
        self, status: PositionStatus | None, symbol: str | None, limit: int
    ) -> list[MarkedPosition]:
        """Positions as stored, open ones with their unrealized P&L at the mark price now;
        an open position whose symbol has no mark price now keeps its stored value, with
        the reason (one symbol's trouble does not fail the whole answer)."""
        found = await self.store.list_positions(status=status, symbol=symbol, limit=limit)
        open_symbols = sorted({p.symbol for p in found if p.status is PositionStatus.OPEN})
        outcomes = await asyncio.gather(
            *(self.exchange.mark_price(s) for s in open_symbols), return_exceptions=True
        )
        marks = dict(zip(open_symbols, outcomes, strict=True))
        return [_marked(position, marks.get(position.symbol)) for position in found]


def _selftest_reason(error: Exception) -> Reason:
    return Reason.DATA_MANAGER_UNAVAILABLE if try_again(error) else Reason.SELFTEST_FAILED


def _expected_at_startup(error: Exception) -> bool:
    """Failures start-up waits out without a traceback: the self-test not passing yet
    (logged by it) and servers not reachable yet."""
    return isinstance(
        error, SelfTestFailed | DataManagerError | OSError | NatsError | BusUnavailable
    )


def _marked(position: Position, mark: Decimal | BaseException | None) -> MarkedPosition:
    """``position`` valued at ``mark`` when it is open (``mark`` is what asking for the mark
    price gave: the price, or why there is none)."""
    fields = position.model_dump()
    if position.status is not PositionStatus.OPEN or mark is None:
        return MarkedPosition(**fields)
    if isinstance(mark, Exception):
        hint = try_again(mark)
        why = hint.cause if hint is not None else safe_description(mark)
        return MarkedPosition(**fields, mark_error=clip(f"no mark price now: {why}"))
    if isinstance(mark, BaseException):
        raise mark  # cancelled
    fields["unrealized_pnl"] = as_open(position).unrealized(mark)
    return MarkedPosition(**fields, mark_price=mark)


def close_signal_id(key: str) -> str:
    """``api-close:<key>``, or ``api-close:<digest of key>`` when that would be too long for
    a signal id."""
    signal_id = CLOSE_PREFIX + key
    if is_identifier(signal_id):
        return signal_id
    return CLOSE_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:32]
