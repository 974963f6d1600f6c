"""The in-order publisher of one connection slot: a bounded queue drained into NATS.

The reader only appends to the queue (never waits on NATS); the publisher takes messages
from the front, one at a time in batches of up to ``YIELD_EVERY`` between two yields to the
event loop, so NATS sees each stream's frames in the order they were read (its metrics are
counted per batch). While NATS is away the queue fills up to its bound and the newest frames
are dropped and counted; the front message is only removed once NATS took it, so nothing is
skipped or reordered by an outage.

Core NATS publishes go into nats-py's write buffer (flushed in the background); JetStream
publishes are asynchronous with at most ``window`` acks outstanding: the publisher waits
for the oldest ack only when the window is full, and counts an ack that failed or did not
come within ``ack_timeout_s`` as unconfirmed (the message may be lost: it is not sent
again, which could put it behind later frames of its stream).
"""

from __future__ import annotations

import asyncio
import contextlib
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


@dataclass(frozen=True, slots=True, eq=False)
class Destination:
    """Where one stream's messages go, with its metric children resolved once (hashed by
    identity: the publisher counts per destination)."""

    subject: str
    jetstream: bool
    published: Counter
    lag: Histogram
    unconfirmed: Counter


Outgoing = tuple[Destination, bytes, str, int | None]
"""One message for NATS: its destination, the envelope, its message id and the event time
(ms). A plain tuple: one is made per frame, and even a slotted dataclass costs a few times
more to build and to read."""


class FrameQueue:
    """A bounded FIFO that refuses (rather than blocks) when full.

    ``wait_room`` lets a reader stop reading while the queue is full and the publisher is
    draining it (NATS slower than the WebSocket): TCP then slows the sender down, instead of
    frames being read only to be dropped. Room means the queue fell to three quarters.

    The publisher reads and removes the front of ``items`` itself (a method call per message
    costs as much as its bookkeeping) and calls :meth:`made_room` after each batch.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: deque[Outgoing] = deque()
        self._items = self.items
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._low_water = size * 3 // 4

    def __len__(self) -> int:
        return len(self._items)

    @property
    def full(self) -> bool:
        return len(self._items) >= self.size

    async def wait_room(self, timeout_s: float) -> None:
        """Until the queue fell to its low-water mark, or ``timeout_s`` passed."""
        self._room.clear()
        if len(self._items) <= self._low_water:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._room.wait(), timeout_s)

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

    def made_room(self) -> None:
        """Wake a reader waiting in :meth:`wait_room` once the queue is at its low-water mark."""
        if len(self._items) <= self._low_water:
            self._room.set()


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
        queue = self.queue
        items = queue.items
        while True:
            await queue.wait()
            client = await self.link.wait_connected()
            # Counted per batch: a Prometheus increment per message costs more than the rest
            # of the bookkeeping together.
            published: dict[Destination, int] = {}
            try:
                while items:
                    # Only this task removes items, so the batch is there to the end.
                    for _ in range(min(len(items), YIELD_EVERY)):
                        destination, payload, msg_id, event_ms = items[0]
                        if destination.jetstream:
                            await self._make_room()
                            assert self.link.js is not None
                            future = await self.link.js.publish_async(
                                destination.subject, payload, headers={MSG_ID_HEADER: msg_id}
                            )
                            self._pending.append(
                                (future, time.monotonic(), destination.unconfirmed)
                            )
                        else:
                            # Fails at once when the connection is down, closed or draining
                            # (nothing is buffered in nats-py, see nats_link).
                            await client.publish(
                                destination.subject, payload, headers={MSG_ID_HEADER: msg_id}
                            )
                        items.popleft()
                        if destination in published:
                            published[destination] += 1
                        else:
                            # The lag is observed for the first message of each stream type
                            # in a batch, the oldest and so the most delayed one (one
                            # observation per message would cost more than the publish's own
                            # bookkeeping); at a realistic rate a batch is one message.
                            published[destination] = 1
                            if event_ms is not None:
                                destination.lag.observe(max(0.0, time.time() - event_ms / 1000))
                    _count(published)
                    queue.made_room()
                    await asyncio.sleep(0)  # let the readers read on
            except (NatsError, JetStreamError, OSError) as error:
                # Disconnected (nats-py buffers nothing then): keep the front message and
                # wait for the connection to come back.
                log.debug("publish paused: %s", error)
                await asyncio.sleep(0.05)
            finally:
                _count(published)
                queue.made_room()
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


def _count(published: dict[Destination, int]) -> None:
    for destination, count in published.items():
        destination.published.inc(count)
    published.clear()
