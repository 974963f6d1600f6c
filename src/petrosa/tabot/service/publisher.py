"""Where a signal goes: JetStream ``signals.trading`` (or core NATS ``alerts.ta.<SYMBOL>``
for alerts), and a record in the Data Manager.

A trading signal is published with ``Nats-Msg-Id: <signal_id>`` and the publish waits for
the stream's acknowledgement; a failed or unanswered attempt is repeated with the same id,
so the stream's duplicate window drops whatever an earlier attempt did store. The record
is a document keyed by the signal id: a repeat is reported as a duplicate and changes
nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js.errors import Error as JetStreamError

from petrosa.client import DataManagerClient
from petrosa.contracts.signals import Signal, SignalAction
from petrosa.tabot.service.settings import TabotSettings

log = logging.getLogger(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"
RETRY_DELAY_S = 0.5


class PublishFailed(Exception):
    """NATS did not confirm a signal after every attempt (the trigger is retried later)."""


class SignalPublisher:
    def __init__(self, client: Client, settings: TabotSettings) -> None:
        self.client = client
        self.js = client.jetstream()
        self.settings = settings

    async def publish(self, signal: Signal) -> bool:
        """Publish and wait for the acknowledgement; True when the stream had it already."""
        payload = signal.model_dump_json().encode()
        if signal.action is SignalAction.ALERT:
            await self._alert(signal, payload)
            return False
        settings = self.settings
        error: Exception | None = None
        for attempt in range(settings.publish_attempts):
            if attempt:
                await asyncio.sleep(RETRY_DELAY_S * attempt)
            try:
                ack = await self.js.publish(
                    settings.signals_subject,
                    payload,
                    timeout=settings.publish_timeout_s,
                    stream=settings.signals_stream,
                    headers={MSG_ID_HEADER: signal.id},
                )
            except (NatsError, JetStreamError, OSError) as failure:
                error = failure
                log.warning(
                    "signal %s not confirmed (attempt %d): %r", signal.id, attempt + 1, failure
                )
                continue
            return bool(ack.duplicate)
        raise PublishFailed(f"signal {signal.id} not confirmed by NATS: {error!r}")

    async def _alert(self, signal: Signal, payload: bytes) -> None:
        """Core NATS, flushed: alerts trade nothing and nobody replays them."""
        subject = f"{self.settings.alerts_prefix}.{signal.symbol}"
        try:
            await self.client.publish(subject, payload, headers={MSG_ID_HEADER: signal.id})
            await self.client.flush(timeout=int(self.settings.publish_timeout_s))
        except (NatsError, OSError, TimeoutError) as failure:
            raise PublishFailed(f"alert {signal.id} not sent: {failure!r}") from None


class SignalRecorder:
    """Every signal and alert as a Data Manager document, ``_id`` = signal id."""

    def __init__(self, dm: DataManagerClient, settings: TabotSettings) -> None:
        self.dm = dm
        self.collection = settings.signals_collection
        self.replica = settings.replica

    async def record(self, signal: Signal, *, source: str, config_version: int) -> bool:
        """True when recorded now, False when it already was."""
        document = {
            "_id": signal.id,
            "kind": "alert" if signal.action is SignalAction.ALERT else "signal",
            "signal": signal.model_dump(mode="json"),
            "trigger": source,
            "service_config_version": config_version,
            "replica": self.replica,
            "recorded_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        result = await self.dm.insert_one(self.collection, document)
        return result.inserted
