"""NATS JetStream ingress: one durable pull consumer on ``signals.trading`` shared by every
replica. A message is acked only once its decision is durable in the Data Manager; on a
crash or a lost lock it is redelivered, and the ledger makes the retry a no-op."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from nats.js.errors import BadRequestError

log = logging.getLogger(__name__)

SIGNALS_SUBJECT = "signals.trading"
CONCURRENCY = 16
"""Signals one replica handles at once (different symbols run in parallel)."""
FETCH_BATCH = 1
"""Messages asked for per pull. One: nats-py's fetch of a batch can hold the first message
until the batch fills or the pull expires, which showed as arrivals delayed by 100-250 ms
(bench/tradeengine.py, "arrival" step); a pull per message costs one small round trip."""
FETCH_WAIT_S = 1.0
NAK_DELAY_S = 1.0

Handler = Callable[[bytes], Awaitable[bool]]
"""Returns True when the message may be acked (its outcome is durable)."""


async def ensure_stream(client: Client, stream: str, subject: str = SIGNALS_SUBJECT) -> None:
    """The stream that keeps signals until a replica has handled them."""
    js = client.jetstream()
    config = StreamConfig(name=stream, subjects=[subject])
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


class SignalConsumer:
    def __init__(
        self,
        url: str,
        *,
        stream: str,
        subject: str = SIGNALS_SUBJECT,
        durable: str,
        ack_wait_s: float,
        handler: Handler,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.url = url
        self.stream = stream
        self.subject = subject
        self.durable = durable
        self.ack_wait_s = ack_wait_s
        self.handler = handler
        self.concurrency = concurrency
        self.client: Client | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.is_connected

    async def start(self) -> None:
        self.client = await nats.connect(self.url, name="petrosa-tradeengine")
        await ensure_stream(self.client, self.stream, self.subject)
        self._task = asyncio.create_task(self._run(), name="signal-consumer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.client is not None and not self.client.is_closed:
            await self.client.close()

    async def _run(self) -> None:
        assert self.client is not None
        js = self.client.jetstream()
        subscription = await js.pull_subscribe(
            self.subject,
            durable=self.durable,
            stream=self.stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait_s,
                max_ack_pending=1_000,
            ),
        )
        gate = asyncio.Semaphore(self.concurrency)
        running: set[asyncio.Task[None]] = set()
        while True:
            try:
                messages = await subscription.fetch(FETCH_BATCH, timeout=FETCH_WAIT_S)
            except NatsTimeout:
                continue
            except Exception as error:  # connection trouble: nats-py reconnects; try again
                log.warning("signal fetch failed: %s", error)
                await asyncio.sleep(NAK_DELAY_S)
                continue
            for message in messages:
                await gate.acquire()
                task = asyncio.create_task(self._one(message, gate))
                running.add(task)
                task.add_done_callback(running.discard)

    async def _one(self, message: Msg, gate: asyncio.Semaphore) -> None:
        try:
            if await self.handler(message.data):
                await message.ack()
            else:
                await message.nak(delay=NAK_DELAY_S)
        except Exception:
            log.exception("signal handling failed; it will be redelivered")
            await message.nak(delay=NAK_DELAY_S)
        finally:
            gate.release()
