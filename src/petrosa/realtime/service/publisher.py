"""Signals out: JetStream ``signals.trading`` first, then a record in the Data Manager.

A signal is published with ``Nats-Msg-Id`` = its id and counts as sent only once the stream
acknowledged it; a missing ack is retried with the same id (the stream drops a repeat inside
its duplicate window, the trade engine's ledger any later one). Just before each attempt
the symbol's lease is checked again: a signal whose owner lost the symbol while it waited
is dropped, never published by a replica that no longer owns it.

The record (collection ``realtime_signals``, ``_id`` = signal id, so a retry or a second
replica's repeat stores nothing new) holds the signal, the market state that triggered it,
and the owner and fencing token it was made under. Records are written after the publish,
off the signal's path, and retried while the Data Manager is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from petrosa.client import DataManagerError
from petrosa.realtime.service.metrics import ServiceMetrics
from petrosa.realtime.service.ownership import SymbolKey
from petrosa.realtime.signals import Emission

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0
MSG_ID = "Nats-Msg-Id"

Recorder = Callable[[str, Mapping[str, Any]], Awaitable[object]]
"""Stores one document under its ``_id`` (``DataManagerClient.insert_one``)."""
StillOwned = Callable[[SymbolKey, int], bool]
"""Whether the lease with this fencing token is still valid for the symbol."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    key: SymbolKey
    emission: Emission
    owner: str
    token: int


async def ensure_signals_stream(js: JetStreamContext, stream: str, subject: str) -> None:
    """The trade engine's stream, created with its configuration only when missing."""
    try:
        await js.stream_info(stream)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=stream, subjects=[subject]))


def backoff_s(attempt: int) -> float:
    return float(min(RETRY_FIRST_S * 2.0 ** max(0, attempt - 1), RETRY_MAX_S))


class SignalPublisher:
    def __init__(
        self,
        metrics: ServiceMetrics,
        still_owned: StillOwned,
        *,
        subject: str,
        collection: str,
        recorder: Recorder | None,
        attempts: int,
        ack_timeout_s: float,
        record_attempts: int,
        queue_size: int,
    ) -> None:
        self.js: JetStreamContext | None = None
        self._metrics = metrics
        self._still_owned = still_owned
        self._subject = subject
        self._collection = collection
        self._recorder = recorder
        self._attempts = attempts
        self._ack_timeout_s = ack_timeout_s
        self._record_attempts = record_attempts
        self._outbox: asyncio.Queue[Outgoing] = asyncio.Queue(queue_size)
        self._records: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(queue_size)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._publish_forever(), name="signal-publisher"),
            asyncio.create_task(self._record_forever(), name="signal-recorder"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def pending(self) -> int:
        return self._outbox.qsize()

    def submit(self, outgoing: Outgoing) -> None:
        try:
            self._outbox.put_nowait(outgoing)
        except asyncio.QueueFull:
            self._metrics.published.labels("queue_full").inc()
            log.error("signal queue full: %s dropped", outgoing.emission.signal.signal_id)

    async def _publish_forever(self) -> None:
        while True:
            outgoing = await self._outbox.get()
            if await self.publish(outgoing):
                self._queue_record(outgoing)

    async def publish(self, outgoing: Outgoing) -> bool:
        """Publish until acknowledged (True), the attempts run out or the lease is gone."""
        signal = outgoing.emission.signal
        payload = signal.model_dump_json().encode()
        for attempt in range(1, self._attempts + 1):
            if not self._still_owned(outgoing.key, outgoing.token):
                self._metrics.published.labels("lease_lost").inc()
                log.warning("%s not published: lease lost", signal.signal_id)
                return False
            try:
                if self.js is None:
                    raise NatsError("NATS not connected yet")
                await self.js.publish(
                    self._subject,
                    payload,
                    timeout=self._ack_timeout_s,
                    headers={MSG_ID: str(signal.signal_id)},
                )
            except (NatsError, TimeoutError, OSError) as error:
                log.warning("publishing %s (attempt %d): %s", signal.signal_id, attempt, error)
                await asyncio.sleep(backoff_s(attempt))
                continue
            self._metrics.published.labels("acked").inc()
            if signal.event_time is not None:
                lag_s = time.time() - signal.event_time / 1000
                self._metrics.signal_lag.observe(max(0.0, lag_s))
            log.info(
                "signal %s %s %s %s at %s",
                signal.strategy_id,
                signal.action.value,
                outgoing.key.label,
                signal.signal_id,
                signal.price,
            )
            return True
        self._metrics.published.labels("failed").inc()
        log.error("%s not acknowledged after %d attempts", signal.signal_id, self._attempts)
        return False

    def _queue_record(self, outgoing: Outgoing) -> None:
        if self._recorder is None:
            return
        signal = outgoing.emission.signal
        signal_id = str(signal.signal_id)
        document = {
            "_id": signal_id,
            "signal": orjson.loads(signal.model_dump_json()),
            "market_state": outgoing.emission.market_state,
            "owner": outgoing.owner,
            "fencing_token": outgoing.token,
            "published_at_ms": round(time.time() * 1000),
        }
        try:
            self._records.put_nowait((signal_id, document))
        except asyncio.QueueFull:
            self._metrics.recorded.labels("queue_full").inc()

    async def _record_forever(self) -> None:
        recorder = self._recorder
        while True:
            signal_id, document = await self._records.get()
            if recorder is None:
                continue
            for attempt in range(1, self._record_attempts + 1):
                try:
                    await recorder(self._collection, document)
                except DataManagerError as error:
                    log.warning("recording %s (attempt %d): %s", signal_id, attempt, error)
                    await asyncio.sleep(backoff_s(attempt))
                    continue
                self._metrics.recorded.labels("stored").inc()
                break
            else:
                self._metrics.recorded.labels("failed").inc()
