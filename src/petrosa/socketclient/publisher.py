"""The in-order publisher of one connection slot: a bounded queue drained into NATS.

The reader only appends to the queue (never waits on NATS); the publisher takes messages
from the front, one at a time, so NATS sees each stream's frames in the order they were
read. While NATS is away the queue fills up to its bound and the newest frames are dropped
and counted; the front message is only removed once NATS took it, so nothing is skipped
or reordered by an outage.

Core NATS publishes go into nats-py's write buffer (flushed in the background); JetStream
publishes are asynchronous with at most ``window`` acks outstanding: the publisher waits
for the oldest ack only when the window is full, and counts an ack that failed or did not
come within ``ack_timeout_s`` as unconfirmed (the message may be lost: it is not sent
again, which could put it behind later frames of its stream).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from nats.errors import Error as NatsError
from nats.js.errors import Error as JetStreamError
from prometheus_client import Counter, Histogram

from petrosa.socketclient.nats_link import NatsLink

log = logging.getLogger(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"
ACK_TIMEOUT_S = 10.0
YIELD_EVERY = 256
"""Publishes between two yields to the event loop, so readers keep reading under load."""


@dataclass(frozen=True, slots=True)
class Destination:
    """Where one stream's messages go, with its metric children resolved once."""

    subject: str
    jetstream: bool
    published: Counter
    lag: Histogram
    unconfirmed: Counter


@dataclass(frozen=True, slots=True)
class Outgoing:
    destination: Destination
    payload: bytes
    msg_id: str
    event_ms: int | None


class FrameQueue:
    """A bounded FIFO that refuses (rather than blocks) when full."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: deque[Outgoing] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, item: Outgoing) -> bool:
        """Append; False (the caller counts a drop) when the queue is full."""
        if len(self._items) >= self.size:
            return False
        self._items.append(item)
        self._ready.set()
        return True

    async def wait(self) -> None:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()

    def front(self) -> Outgoing:
        return self._items[0]

    def pop(self) -> None:
        self._items.popleft()


class Publisher:
    """Drains one :class:`FrameQueue` into NATS, in order, for as long as it runs."""

    def __init__(
        self,
        queue: FrameQueue,
        link: NatsLink,
        *,
        window: int,
        ack_timeout_s: float = ACK_TIMEOUT_S,
    ) -> None:
        self.queue = queue
        self.link = link
        self.window = window
        self.ack_timeout_s = ack_timeout_s
        self._pending: deque[tuple[asyncio.Future[Any], float, Counter]] = deque()

    async def run(self) -> None:
        while True:
            await self.queue.wait()
            client = await self.link.wait_connected()
            sent = 0
            try:
                while len(self.queue):
                    item = self.queue.front()
                    headers = {MSG_ID_HEADER: item.msg_id}
                    destination = item.destination
                    if destination.jetstream:
                        await self._make_room()
                        assert self.link.js is not None
                        future = await self.link.js.publish_async(
                            destination.subject, item.payload, headers=headers
                        )
                        self._pending.append((future, time.monotonic(), destination.unconfirmed))
                    else:
                        await client.publish(destination.subject, item.payload, headers=headers)
                    self.queue.pop()
                    destination.published.inc()
                    if item.event_ms is not None:
                        destination.lag.observe(max(0.0, time.time() - item.event_ms / 1000))
                    sent += 1
                    if sent % YIELD_EVERY == 0:
                        await asyncio.sleep(0)
            except (NatsError, JetStreamError, OSError) as error:
                # Disconnected (nats-py buffers nothing then): keep the front message and
                # wait for the connection to come back.
                log.debug("publish paused: %s", error)
                await asyncio.sleep(0.05)
            self._reap()

    async def _make_room(self) -> None:
        self._reap()
        while len(self._pending) >= self.window:
            future, started, _ = self._pending[0]
            remaining = started + self.ack_timeout_s - time.monotonic()
            if remaining > 0 and not future.done():
                await asyncio.wait([future], timeout=remaining)
            if not future.done():
                future.cancel()
            self._reap()

    def _reap(self) -> None:
        """Forget acks that arrived; count failed or overdue ones as unconfirmed."""
        now = time.monotonic()
        while self._pending:
            future, started, unconfirmed = self._pending[0]
            if not future.done():
                if now - started < self.ack_timeout_s:
                    return
                future.cancel()
            self._pending.popleft()
            if future.cancelled() or future.exception() is not None:
                unconfirmed.inc()

    async def flush(self, timeout_s: float) -> None:
        """Wait for the queue to empty and the acks to come, at most ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while (len(self.queue) or self._pending) and time.monotonic() < deadline:
            self._reap()
            await asyncio.sleep(0.02)
