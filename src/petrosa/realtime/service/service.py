"""The realtime service wired together: leases → subscriptions → engines → signals.

::

    Ownership (coordination leases) ─ gained ─► SymbolInputs (core NATS, per subject)
                                                   │ parse_message
                                                   ▼
    Parameters (Data Manager document) ─► SymbolEngine.feed ─► SignalPublisher
                                                   │            ├► JetStream signals.trading
    tick (every tick_s) ─► SymbolEngine.tick ──────┘            └► Data Manager record

A symbol exists here only while its lease is valid: on gaining it the engine is built
(risk unit seeded from the Data Manager's 1m candles) and its subjects subscribed; on
losing it (renewal failed, rebalance, shutdown) the subscriptions end and the engine's
state is dropped at once; a later owner rebuilds it from the streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client
from nats.errors import Error as NatsError

from petrosa.bus import BusUnavailable, connect_nats
from petrosa.client import DataManagerClient, DataManagerError
from petrosa.coordination import Lease, Locks
from petrosa.realtime import InputError, StrategyState, SymbolEngine, parse_message
from petrosa.realtime.service.inputs import SymbolInputs
from petrosa.realtime.service.metrics import ServiceMetrics
from petrosa.realtime.service.ownership import Ownership, SymbolKey
from petrosa.realtime.service.parameters import Parameters
from petrosa.realtime.service.publisher import Outgoing, SignalPublisher, ensure_signals_stream
from petrosa.realtime.service.settings import SIGNALS_COLLECTION, RealtimeSettings

log = logging.getLogger(__name__)

NATS_RETRY_S = 2.0
DRAIN_S = 5.0
"""How long a stopping replica lets queued signals go out before giving its leases back."""


@dataclass
class Holding:
    """One owned symbol: its lease token, engine and subscriptions."""

    key: SymbolKey
    token: int
    engine: SymbolEngine
    inputs: SymbolInputs
    taken_at: float
    last_event_ms: int | None = None
    last_event_at: float | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class RealtimeService:
    def __init__(
        self,
        settings: RealtimeSettings,
        locks: Locks,
        *,
        dm: DataManagerClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.identity = locks.identity
        self.locks = locks
        self.dm = dm
        self.clock = clock
        keys = [SymbolKey(m, s) for m in settings.markets for s in settings.symbols]
        self.holdings: dict[SymbolKey, Holding] = {}
        self.metrics = ServiceMetrics(lambda: [h.engine for h in self.holdings.values()])
        self.ownership = Ownership(
            locks,
            keys,
            ttl_s=settings.lease_ttl_s,
            max_replicas=settings.max_replicas,
            on_gained=self._gained,
            on_lost=self._lost,
            journal=settings.ownership_journal,
        )
        self.parameters = Parameters(
            dm.get_app_config if dm is not None else None, settings.config_key
        )
        self.publisher = SignalPublisher(
            self.metrics,
            self._still_owned,
            subject=settings.signals_subject,
            collection=SIGNALS_COLLECTION,
            recorder=dm.insert_one if dm is not None else None,
            attempts=settings.publish_attempts,
            ack_timeout_s=settings.ack_timeout_s,
            record_attempts=settings.record_attempts,
            queue_size=settings.queue_size,
        )
        self.nats: Client | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        await self._refresh_parameters()
        self.publisher.start()
        self._tasks = [
            asyncio.create_task(self._connect_then_own(), name="nats-and-ownership"),
            asyncio.create_task(self._tick_forever(), name="tick"),
        ]
        if self.dm is not None and self.settings.config_poll_s > 0:
            self._tasks.append(asyncio.create_task(self._poll_parameters(), name="parameters"))

    async def stop(self) -> None:
        deadline = self.clock() + DRAIN_S
        while self.publisher.pending and self.clock() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.ownership.close()
        await self.publisher.stop()
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
        if self.nats is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nats.close(), timeout=5.0)

    # -- health -----------------------------------------------------------------------------

    def liveness_problems(self) -> list[str]:
        return [f"task {t.get_name()} ended" for t in self._tasks if t.done()]

    def readiness_problems(self) -> list[str]:
        problems: list[str] = []
        if self.nats is None or not self.nats.is_connected:
            problems.append("NATS not connected")
        if self.ownership.last_error is not None:
            problems.append(f"coordination store unreachable: {self.ownership.last_error}")
        elif self.ownership.rounds > 0 and self.ownership.slot is None:
            problems.append(f"no replica slot free (max_replicas={self.settings.max_replicas})")
        now = self.clock()
        for key, holding in sorted(self.holdings.items()):
            status = holding.engine.status()
            for feed, feed_status in sorted(status.feeds.items()):
                if feed_status.problem is not None:
                    problems.append(f"{key.label}: {feed.value} {feed_status.problem}")
            if now - holding.taken_at > self.settings.input_grace_s:
                waiting = sorted(
                    s for s, state in status.strategies.items() if state is StrategyState.WAITING
                )
                if waiting:
                    problems.append(f"{key.label}: no input yet for {', '.join(waiting)}")
        return problems

    def status(self) -> dict[str, Any]:
        owned: dict[str, Any] = {}
        for key, holding in sorted(self.holdings.items()):
            status = holding.engine.status()
            owned[key.label] = {
                "token": holding.token,
                "time_ms": status.time_ms,
                "ready": status.ready,
                "strategies": {s: state.value for s, state in status.strategies.items()},
                "feeds": {
                    f.value: {"last_ms": fs.last_ms, "problem": fs.problem}
                    for f, fs in status.feeds.items()
                },
                "stats": {
                    strategy_id: {
                        "evaluations": stats.evaluations,
                        "signals": stats.signals,
                        "warming_suppressed": stats.warming_suppressed,
                        "cooldown_blocked": stats.cooldown_blocked,
                        "rejected": dict(stats.rejected),
                    }
                    for strategy_id, stats in holding.engine.stats.strategies.items()
                },
                "resets": dict(holding.engine.stats.resets),
                "dropped": dict(holding.engine.stats.dropped),
            }
        return {
            "identity": self.identity,
            "live_replicas": self.ownership.live_replicas,
            "fair_share": self.ownership.share,
            "owned": owned,
            "config_version": self.parameters.version,
            "config_rejected": self.parameters.rejected,
            "signals_pending": self.publisher.pending,
        }

    # -- ownership callbacks ----------------------------------------------------------------

    def _gained(self, key: SymbolKey, lease: Lease) -> None:
        engine = SymbolEngine(
            key.market, key.symbol, self.parameters.config.resolve(key.market, key.symbol)
        )
        token = lease.token

        def deliver(subject: str, payload: bytes) -> None:
            self._on_input(key, token, subject, payload)

        inputs = SymbolInputs(key, deliver, book_grace_s=self.settings.book_grace_s)
        holding = Holding(key, token, engine, inputs, self.clock())
        self.holdings[key] = holding
        holding.task = asyncio.create_task(self._begin(holding), name=f"take:{key.label}")
        self.metrics.leases.labels("gained").inc()
        self.metrics.owned.set(len(self.holdings))

    def _lost(self, key: SymbolKey, reason: str) -> None:
        holding = self.holdings.pop(key, None)
        if holding is None:
            return
        holding.inputs.closed = True  # not one more message reaches the engine
        if holding.task is not None:
            holding.task.cancel()
        self.metrics.engines.retire(holding.engine)
        self.metrics.leases.labels(reason).inc()
        self.metrics.owned.set(len(self.holdings))
        task = asyncio.create_task(holding.inputs.stop(), name=f"drop:{key.label}")
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    def _still_owned(self, key: SymbolKey, token: int) -> bool:
        lease = self.ownership.lease_of(key)
        return lease is not None and lease.token == token

    async def _begin(self, holding: Holding) -> None:
        """Seed the risk unit, then subscribe (the engine starts its warm-up on the streams)."""
        await self._seed(holding)
        assert self.nats is not None
        try:
            await holding.inputs.start(self.nats)
        except NatsError as error:
            log.error("subscribing %s failed: %s; giving it back", holding.key.label, error)
            await self.ownership.release(holding.key, "subscribe_failed")

    async def _seed(self, holding: Holding) -> None:
        if self.dm is None or self.settings.seed_candles == 0:
            return
        key = holding.key
        try:
            page = await self.dm.get_candles(
                key.symbol, "1m", limit=self.settings.seed_candles, market=key.market
            )
        except DataManagerError as error:
            log.warning("%s: no 1m candles to seed the risk unit: %s", key.label, error)
            return
        holding.engine.seed_candles(sorted(page, key=lambda k: k.open_time))

    # -- the hot path -----------------------------------------------------------------------

    def _on_input(self, key: SymbolKey, token: int, subject: str, payload: bytes) -> None:
        holding = self.holdings.get(key)
        if holding is None or holding.token != token:
            return  # a message still in flight for a symbol already given up
        if not self._still_owned(key, token):
            self.ownership.expire()
            return
        try:
            # A maintained book without an event time (one made from a REST snapshot) is
            # placed at the symbol's exchange time so far, never at this machine's clock: a
            # wall-clock time among exchange times would read as a jump and reset every feed.
            event = parse_message(subject, payload, received_ms=holding.engine.now_ms)
        except InputError as error:
            self.metrics.input_errors.labels(key.market.value).inc()
            log.debug("%s", error)
            return
        if event is None:
            return
        emissions = holding.engine.feed(event)
        holding.last_event_ms = holding.engine.now_ms
        holding.last_event_at = self.clock()
        for emission in emissions:
            self.publisher.submit(Outgoing(key, emission, self.identity, holding.token))

    # -- loops ------------------------------------------------------------------------------

    async def _connect_then_own(self) -> None:
        """NATS first (a symbol is claimed only when it can be served), then the leases."""
        while self.nats is None:
            try:
                self.nats = await connect_nats(self.settings.nats_url, name="realtime")
            except BusUnavailable as error:
                log.warning("NATS not reachable yet (%s); retrying", error)
                await asyncio.sleep(NATS_RETRY_S)
        js = self.nats.jetstream()
        while True:
            try:
                await ensure_signals_stream(
                    js, self.settings.signals_stream, self.settings.signals_subject
                )
                break
            except (NatsError, TimeoutError) as error:
                log.warning("signals stream not ready (%s); retrying", error)
                await asyncio.sleep(NATS_RETRY_S)
        self.publisher.js = js
        await self.ownership.run()

    async def _tick_forever(self) -> None:
        """Exchange time moves on for a silent symbol too: its feeds go stale."""
        while True:
            await asyncio.sleep(self.settings.tick_s)
            self.ownership.expire()
            now = self.clock()
            for holding in list(self.holdings.values()):
                if holding.last_event_ms is None or holding.last_event_at is None:
                    continue
                elapsed_ms = round((now - holding.last_event_at) * 1000)
                holding.engine.tick(holding.last_event_ms + elapsed_ms)
            self.metrics.replicas.set(self.ownership.live_replicas)

    async def _poll_parameters(self) -> None:
        while True:
            await asyncio.sleep(self.settings.config_poll_s)
            await self._refresh_parameters()

    async def _refresh_parameters(self) -> None:
        rejected_before = self.parameters.rejected
        try:
            changed = await self.parameters.refresh()
        except DataManagerError as error:
            log.warning("parameters not read: %s", error)
            return
        if self.parameters.rejected is not None and self.parameters.rejected != rejected_before:
            self.metrics.config_rejected.inc()
        if not changed:
            return
        self.metrics.config_version.set(self.parameters.version)
        for key, holding in self.holdings.items():
            holding.engine.configure(self.parameters.config.resolve(key.market, key.symbol))
