"""Pulling triggers from a durable JetStream consumer shared by the replicas.

Each message is acked only after its signals are published and recorded. A trigger that
could not be handled (Data Manager or NATS unavailable, the closed candle not stored yet)
is redelivered after a delay, up to the consumer's ``max_deliver``; the redelivery makes
the same signal ids, so the stream and the engine drop whatever was published twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

log = logging.getLogger(__name__)

FETCH_WAIT_S = 1.0
PAUSE_AFTER_ERROR_S = 1.0
CONCURRENCY = 8
"""Triggers one replica handles at once (symbols and intervals in parallel)."""


class Outcome(StrEnum):
    DONE = "done"
    RETRY = "retry"


@dataclass(frozen=True)
class Handled:
    outcome: Outcome
    reason: str = ""


Handler = Callable[[Msg], Awaitable[Handled]]


class TriggerConsumer:
    """Fetches from one durable consumer and hands each message to ``handler``."""

    def __init__(
        self,
        js: JetStreamContext,
        *,
        stream: str,
        durable: str,
        handler: Handler,
        retry_delay_s: float,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.js = js
        self.stream = stream
        self.durable = durable
        self.handler = handler
        self.retry_delay_s = retry_delay_s
        self.concurrency = concurrency
        self.running = False
        self._task: asyncio.Task[None] | None = None
        self._handling: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        subscription = await self.js.pull_subscribe_bind(durable=self.durable, stream=self.stream)
        self.running = True
        self._task = asyncio.create_task(self._run(subscription), name=f"consume-{self.durable}")

    async def stop(self) -> None:
        """Stop fetching; messages in hand are redelivered to a replica after ``ack_wait``."""
        self.running = False
        tasks = [t for t in (self._task, *self._handling) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, subscription: JetStreamContext.PullSubscription) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        try:
            while True:
                try:
                    messages = await subscription.fetch(1, timeout=FETCH_WAIT_S)
                except NatsTimeout:
                    continue
                except NatsError as error:  # nats-py reconnects by itself
                    log.warning("%s: fetch failed: %s", self.durable, error)
                    await asyncio.sleep(PAUSE_AFTER_ERROR_S)
                    continue
                except Exception:
                    log.exception("%s: fetch failed unexpectedly", self.durable)
                    await asyncio.sleep(PAUSE_AFTER_ERROR_S)
                    continue
                for message in messages:
                    await gate.acquire()
                    task = asyncio.create_task(self._one(message, gate))
                    self._handling.add(task)
                    task.add_done_callback(self._handling.discard)
        finally:
            self.running = False

    async def _one(self, message: Msg, gate: asyncio.Semaphore) -> None:
        try:
            try:
                handled = await self.handler(message)
            except Exception as error:
                log.exception("%s: trigger %s failed", self.durable, message.subject)
                handled = Handled(Outcome.RETRY, repr(error))
            if handled.outcome is Outcome.DONE:
                await message.ack()
            else:
                await message.nak(delay=self.retry_delay_s)
        except NatsError as error:  # redelivered after ack_wait: the same signal ids again
            log.warning(
                "%s: could not answer NATS for %s: %r", self.durable, message.subject, error
            )
        finally:
            gate.release()
