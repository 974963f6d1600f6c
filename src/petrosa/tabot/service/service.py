"""The TA bot service: triggers in, signals out, and what its readiness reports.

A supervisor task brings the parts up in order and keeps them up — the configuration from
the Data Manager, the NATS connection, the streams and the durable consumers — retrying
whatever is unavailable (the service starts, and says why it is not ready, while the Data
Manager or NATS is down). Once up it polls the configuration audit and applies a change
without a restart: a new snapshot for the next trigger, new symbols' event subjects, the
socket-kline consumers of new timeframes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.errors import Error as JetStreamError

from petrosa.bus import BusUnavailable, connect_nats
from petrosa.client import DataManagerClient, DataManagerError
from petrosa.contracts import Interval, Market
from petrosa.tabot.service.candles import CandleReader
from petrosa.tabot.service.config import ConfigSnapshot, ConfigStore
from petrosa.tabot.service.consumer import Handled, Outcome, TriggerConsumer
from petrosa.tabot.service.metrics import Metrics
from petrosa.tabot.service.publisher import PublishFailed, SignalPublisher, SignalRecorder
from petrosa.tabot.service.runner import CandleNotStored, Clock, Runner
from petrosa.tabot.service.settings import TabotSettings
from petrosa.tabot.service.streams import (
    consumer_config,
    ensure_consumer,
    ensure_events_stream,
    ensure_signals_stream,
    kline_durable,
    kline_filter,
    stream_exists,
)
from petrosa.tabot.service.triggers import (
    Ignored,
    Source,
    Trigger,
    extractor_trigger,
    socket_trigger,
)

log = logging.getLogger(__name__)

RETRY_S = 2.0
"""Pause before trying a part that failed to come up again."""


class TaBot:
    def __init__(
        self,
        settings: TabotSettings,
        dm: DataManagerClient,
        *,
        clock: Clock = time.time,
    ) -> None:
        self.settings = settings
        self.dm = dm
        self.metrics = Metrics()
        self.configs = ConfigStore(dm, settings)
        self.runner = Runner(
            CandleReader(dm, settings.market),
            self.metrics,
            margin=settings.window_margin,
            clock=clock,
        )
        self.recorder = SignalRecorder(dm, settings)
        self.config: ConfigSnapshot | None = None
        self.client: Client | None = None
        self.publisher: SignalPublisher | None = None
        self.events: TriggerConsumer | None = None
        self.klines: dict[tuple[Market, Interval], TriggerConsumer] = {}
        self.problem: str | None = "starting"
        """Why the supervisor could not bring everything up on its last round."""
        self._events_symbols: frozenset[str] = frozenset()
        self._task: asyncio.Task[None] | None = None
        self._reload = asyncio.Event()
        self._stopping = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="tabot-supervisor")

    async def stop(self) -> None:
        self._stopping = True
        self._reload.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for consumer in [*self.klines.values(), self.events]:
            if consumer is not None:
                await consumer.stop()
        if self.client is not None and not self.client.is_closed:
            try:
                await asyncio.wait_for(self.client.close(), timeout=5)
            except Exception as error:  # closing a dead connection: nothing left to flush
                log.debug("NATS close: %r", error)
        await self.dm.close()

    def reload_soon(self) -> None:
        """Reload the configuration now rather than at the next poll (after a write here)."""
        self._reload.set()

    # -- supervision ------------------------------------------------------------------

    async def _supervise(self) -> None:
        while not self._stopping:
            try:
                await self._round()
                self.problem = None
            except asyncio.CancelledError:
                raise
            except DataManagerError as error:
                self.problem = f"data manager: {error}"
            except BusUnavailable as error:
                self.problem = f"nats: {error}"
            except (NatsError, JetStreamError, OSError) as error:
                self.problem = f"nats: {error!r}"
            except Exception as error:
                log.exception("tabot supervisor round failed")
                self.problem = f"{error!r}"
            if self.problem is not None:
                log.warning("not ready: %s", self.problem)
            wait = self.settings.config_poll_s if self.problem is None else RETRY_S
            self._reload.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # arriving as the event fires, and stop() would then wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._reload.wait()

    async def _round(self) -> None:
        if self.client is None:
            self.client = await connect_nats(self.settings.nats_url, name="petrosa-tabot")
            self.publisher = SignalPublisher(self.client, self.settings)
        await self._refresh_config()
        assert self.config is not None
        js = self.client.jetstream()
        settings = self.settings
        if self.events is None:
            await ensure_signals_stream(js, settings.signals_stream, settings.signals_subject)
        symbols = frozenset(self.config.symbols)
        if not symbols <= self._events_symbols:
            await ensure_events_stream(
                js, settings.events_stream, symbols, settings.events_max_age_s
            )
            self._events_symbols |= symbols
        if self.events is None:
            config = consumer_config(
                settings.events_durable,
                ack_wait_s=settings.ack_wait_s,
                max_deliver=settings.max_deliver,
            )
            await ensure_consumer(js, settings.events_stream, config)
            events = self._consumer(settings.events_stream, settings.events_durable, self._on_event)
            await events.start()
            self.events = events
        if settings.socket_klines:
            await self._follow_klines()

    async def _refresh_config(self) -> None:
        if self.config is not None and await self.configs.audit_mark() == self.config.audit_mark:
            return
        snapshot = await self.configs.load(self.config)
        changed = self.config is None or snapshot.describe() != self.config.describe()
        self.config = snapshot
        self.metrics.config_version.set(snapshot.service_version)
        self.metrics.config_problems.set(len(snapshot.problems))
        if changed:
            log.info(
                "configuration v%d: %d strategies on %s × %s",
                snapshot.service_version,
                len(snapshot.enabled),
                ",".join(snapshot.symbols),
                ",".join(t.value for t in snapshot.timeframes),
            )
            if snapshot.idle:
                log.warning(
                    "enabled strategies that run on none of the service's timeframes: %s",
                    ", ".join(snapshot.idle),
                )
            for problem in snapshot.problems:
                log.error("configuration refused: %s", problem)

    async def _follow_klines(self) -> None:
        """One consumer per configured timeframe on the socket client's stream, if present."""
        assert self.client is not None
        assert self.config is not None
        js = self.client.jetstream()
        settings = self.settings
        if not await stream_exists(js, settings.klines_stream):
            return
        for interval in self.config.timeframes:
            key = (settings.market, interval)
            if key in self.klines:
                continue
            durable = kline_durable(settings.klines_durable, *key)
            config = consumer_config(
                durable,
                ack_wait_s=settings.ack_wait_s,
                max_deliver=settings.max_deliver,
                filter_subject=kline_filter(*key),
            )
            await ensure_consumer(js, settings.klines_stream, config)
            consumer = self._consumer(settings.klines_stream, durable, self._on_kline)
            await consumer.start()
            self.klines[key] = consumer

    def _consumer(self, stream: str, durable: str, handler: Any) -> TriggerConsumer:
        assert self.client is not None
        return TriggerConsumer(
            self.client.jetstream(),
            stream=stream,
            durable=durable,
            handler=handler,
            retry_delay_s=self.settings.retry_delay_s,
        )

    # -- triggers ---------------------------------------------------------------------

    async def _on_event(self, message: Msg) -> Handled:
        parsed = extractor_trigger(message.subject, message.data)
        return await self._handle(Source.EXTRACTOR, parsed, message.metadata.num_delivered)

    async def _on_kline(self, message: Msg) -> Handled:
        parsed = socket_trigger(message.subject, message.data)
        return await self._handle(Source.SOCKET, parsed, message.metadata.num_delivered)

    async def _handle(self, source: Source, parsed: Trigger | Ignored, deliveries: int) -> Handled:
        events = self.metrics.events
        if isinstance(parsed, Ignored):
            events.labels(source.value, parsed.reason).inc()
            return Handled(Outcome.DONE, parsed.reason)
        if parsed.market is not self.settings.market:
            events.labels(source.value, "other_market").inc()
            return Handled(Outcome.DONE, "other_market")
        config = self.config
        if config is not None and not config.strategies_for(parsed.symbol, parsed.interval):
            events.labels(source.value, "not_configured").inc()
            return Handled(Outcome.DONE, "not_configured")
        last = deliveries >= self.settings.max_deliver
        started = time.perf_counter()
        try:
            handled = await self.handle(parsed)
        except CandleNotStored as error:
            handled = Handled(Outcome.RETRY, str(error))
            if last:
                events.labels(source.value, "candle_not_stored").inc()
                log.warning("giving up on %s: %s", parsed, error)
                return Handled(Outcome.DONE, "candle_not_stored")
        if handled.outcome is Outcome.RETRY:
            events.labels(source.value, "gave_up" if last else "retried").inc()
            log.log(
                logging.ERROR if last else logging.INFO,
                "%s %s %s: %s",
                "gave up on" if last else "will retry",
                parsed.symbol,
                parsed.interval.value,
                handled.reason,
            )
        else:
            events.labels(source.value, "evaluated").inc()
            self.metrics.trigger_seconds.observe(time.perf_counter() - started)
        return handled

    async def handle(self, trigger: Trigger) -> Handled:
        """Evaluate, publish and record; RETRY when a dependency failed on the way."""
        config = self.config
        if config is None or self.publisher is None:
            return Handled(Outcome.RETRY, "not started")
        try:
            result = await self.runner.run(trigger, config)
        except DataManagerError as error:
            return Handled(Outcome.RETRY, f"data manager: {error}")
        for signal in result.signals:
            try:
                duplicate = await self.publisher.publish(signal)
                await self.recorder.record(
                    signal, source=trigger.source.value, config_version=config.service_version
                )
            except PublishFailed as error:
                return Handled(Outcome.RETRY, str(error))
            except DataManagerError as error:
                return Handled(Outcome.RETRY, f"data manager: {error}")
            if not duplicate:
                self.metrics.signals.labels(signal.strategy_id, signal.action.value).inc()
                log.info(
                    "%s %s %s %s at %s (%s)",
                    signal.strategy_id,
                    signal.action.value,
                    signal.symbol,
                    signal.timeframe,
                    signal.price,
                    signal.id,
                )
        return Handled(Outcome.DONE)

    # -- health -----------------------------------------------------------------------

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        problems: list[str] = []
        health = await self.dm.health()
        if not health.ready:
            detail = f" ({health.error})" if health.error else ""
            problems.append(f"data_manager: {health.status}{detail}")
        if self.client is None or not self.client.is_connected:
            problems.append("nats: not connected")
        if self.events is None or not self.events.running:
            problems.append("consumer: not running")
        if self.config is None:
            problems.append("config: not loaded")
        if problems and self.problem is not None:
            problems.append(f"last attempt: {self.problem}")
        body: dict[str, Any] = {
            "status": "unavailable" if problems else "ready",
            "problems": problems,
        }
        if self.config is not None:
            body["config_version"] = self.config.service_version
            body["idle_strategies"] = list(self.config.idle)
            body["config_problems"] = list(self.config.problems)
        body["socket_klines"] = sorted(f"{m.value}:{i.value}" for m, i in self.klines)
        return not problems, body
