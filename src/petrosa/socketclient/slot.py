"""A connection slot: a set of streams of one endpoint, served by one WebSocket at a time.

The slot outlives its connections. It owns the streams' state, the bounded queue and the
one in-order publisher; connections come and go under it::

    connect (attempt limiter, backoff) ─► serve ─┬─ closed / failed / stalled ─► backoff ─┐
         ▲                                       └─ rotation due / serverShutdown         │
         │                                            open the replacement, wait until     │
         │                                            each stream delivered on it, close   │
         │                                            the old one ─► serve the new one     │
         └────────────────────────────────────────────────────────────────────────────────┘

Per-stream order across a switch: both connections' readers feed the slot's one queue, in
the order the event loop runs them, and a frame from a connection other than the stream's
last source is taken only if its payload id (``frames.order_key``) is past the last one
taken, while that source is still open and for ``OVERLAP_GRACE_S`` after its last frame
(the old connection may have been ahead of its replacement when it closed). So the overlap
publishes each frame once, and never an older one after a newer one. Frames from one
connection are taken as they come.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random as _random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client import Counter
from websockets.exceptions import InvalidHandshake, InvalidURI

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import Route, Stream
from petrosa.socketclient.connection import Connection, combined_url
from petrosa.socketclient.frames import (
    ControlReply,
    Frame,
    KeyReader,
    OrderKey,
    envelope,
    envelope_head,
    event_time,
    is_server_shutdown,
    message_id,
    order_key_reader,
    read_frame,
    split_frame,
)
from petrosa.socketclient.metrics import Metrics
from petrosa.socketclient.nats_link import NatsLink
from petrosa.socketclient.pacing import (
    CONTROL_WINDOW_S,
    ReconnectBackoff,
    SlidingWindow,
    control_budget,
    control_messages,
)
from petrosa.socketclient.publisher import Destination, FrameQueue, Outgoing, Publisher
from petrosa.socketclient.watchdog import silence_limit_s

log = logging.getLogger(__name__)

BookFeed = Callable[[Any], None]
CHECK_EVERY_S = 0.5
CONGESTION_CHECK_S = 0.1
OVERLAP_GRACE_S = 10.0
"""After a rotation the old connection may have been ahead of the new one: the new one's
frames up to the old one's last id are repeats for this long after it, closed or not."""
"""How often a reader held back by a full queue checks that NATS is still connected."""


@dataclass(frozen=True)
class SlotTiming:
    rotate_after_s: float
    rotate_jitter_s: float
    event_quiet_s: float
    backoff_max_s: float
    data_reset_s: float


@dataclass(eq=False, slots=True)
class StreamState:
    stream: Stream
    name: str
    """``stream.name``, which is computed on each access."""
    key_of: KeyReader
    envelope_head: bytes
    destination: Destination
    frames_in: Counter
    duplicates: Counter
    silence_limit_s: float
    subscribed_at: float = field(default_factory=time.monotonic)
    last_frame_at: float | None = None
    last_key: OrderKey | None = None
    last_source: Connection | None = None
    last_key_at: float = 0.0
    book: BookFeed | None = None
    uncounted: int = 0
    """Frames received since ``frames_in`` was last brought up to date (see ``_count_in``)."""


class ConnectionSlot:
    """Streams of one (market, route), at most ``capacity`` of them, on one connection."""

    def __init__(
        self,
        *,
        market: Market,
        route: Route,
        number: int,
        base_url: str,
        capacity: int,
        link: NatsLink,
        metrics: Metrics,
        connect_limiter: SlidingWindow,
        timing: SlotTiming,
        queue_size: int,
        jetstream_window: int,
        random: Callable[[], float] = _random.random,
    ) -> None:
        self.market, self.route, self.number = market, route, number
        self.base_url = base_url
        self.capacity = capacity
        self.metrics = metrics
        self.timing = timing
        self.streams: dict[str, StreamState] = {}
        self._by_wire_name: dict[bytes, StreamState] = {}
        """``streams`` by the name's bytes, as :func:`split_frame` cuts them from a frame."""
        self.queue = FrameQueue(queue_size)
        self.publisher = Publisher(self.queue, link, window=jetstream_window)
        self._link = link
        self.current: Connection | None = None
        self.incoming: Connection | None = None
        """The replacement being opened during a rotation."""
        self._limiter = connect_limiter
        self._backoff = ReconnectBackoff(
            max_s=timing.backoff_max_s, reset_after_s=timing.data_reset_s, random=random
        )
        self._random = random
        self._shutdown_seen = asyncio.Event()
        self._reconnect_now = asyncio.Event()
        self._next_control_id = 1
        self._tasks: list[asyncio.Task[None]] = []
        self._dropped_full = metrics.dropped.labels(market.value, "queue_full")
        self._dropped_unknown = metrics.dropped.labels(market.value, "unknown_stream")
        self._dropped_bad = metrics.dropped.labels(market.value, "undecodable")
        self._control_errors = metrics.control_errors.labels(market.value)
        metrics.queued.labels(market.value, route.value, str(number)).set_function(
            lambda: len(self.queue)
        )

    @property
    def label(self) -> str:
        return f"{self.market.value}/{self.route.value}#{self.number}"

    @property
    def room(self) -> int:
        return self.capacity - len(self.streams)

    # -- streams ----------------------------------------------------------------------------

    def _state(self, stream: Stream, book: BookFeed | None) -> StreamState:
        market, token = self.market.value, stream.type.subject_token
        metrics = self.metrics
        destination = Destination(
            subject=stream.subject,
            jetstream=stream.type.kind.value == "kline",
            published=metrics.frames_out.labels(market, token),
            lag=metrics.lag.labels(market, token),
            unconfirmed=metrics.unconfirmed.labels(market),
        )
        state = StreamState(
            stream=stream,
            name=stream.name,
            key_of=order_key_reader(stream.type.kind),
            envelope_head=envelope_head(stream.name),
            destination=destination,
            frames_in=metrics.frames_in.labels(market, token),
            duplicates=metrics.duplicates.labels(market, token),
            silence_limit_s=silence_limit_s(stream.type, self.timing.event_quiet_s),
            book=book,
        )
        metrics.last_frame_age.labels(market, stream.name).set_function(
            lambda: time.monotonic() - (state.last_frame_at or state.subscribed_at)
        )
        return state

    def place(self, stream: Stream, book: BookFeed | None = None) -> None:
        """Take ``stream`` before the slot starts (it goes into the first URL)."""
        self._add(self._state(stream, book))

    def _add(self, state: StreamState) -> None:
        self.streams[state.name] = self._by_wire_name[state.name.encode()] = state

    async def subscribe(self, streams: Iterable[tuple[Stream, BookFeed | None]]) -> None:
        """Add streams to the running slot: SUBSCRIBE on its open connections, paced."""
        added: list[str] = []
        for stream, book in streams:
            self._add(self._state(stream, book))
            added.append(stream.name)
        await self._control("SUBSCRIBE", added)

    async def unsubscribe(self, names: Iterable[str]) -> None:
        """Remove streams: their frames are ignored from now on, then UNSUBSCRIBE, paced."""
        self._count_in()
        removed = [name for name in names if self.streams.pop(name, None) is not None]
        for name in removed:
            del self._by_wire_name[name.encode()]
            with contextlib.suppress(KeyError):
                self.metrics.last_frame_age.remove(self.market.value, name)
        await self._control("UNSUBSCRIBE", removed)

    async def _control(self, method: str, names: list[str]) -> None:
        if not names:
            return
        for connection in (self.current, self.incoming):
            if connection is None or not connection.is_open:
                continue  # a connection opened later takes the streams from its URL
            for message in control_messages(method, names, self._next_control_id):
                self._next_control_id += 1
                try:
                    await connection.send(message)
                except Exception as error:  # closed meanwhile: its successor's URL has them
                    log.info("%s: %s not sent (%s)", self.label, method, error)
                    break

    # -- the hot path -----------------------------------------------------------------------

    def handle(self, connection: Connection, raw: bytes) -> bool:
        """One message from a connection's reader: classify, order, enqueue. True when the
        queue is full: the reader then awaits ``_relieved`` before reading on."""
        received_ms = time.time_ns() // 1_000_000
        parts = split_frame(raw)
        if parts is not None:
            state = self._by_wire_name.get(parts[0])
            if state is not None:
                try:
                    data = orjson.loads(parts[1])
                except orjson.JSONDecodeError:
                    pass  # not Binance's layout after all: read_frame sorts it out
                else:
                    if not is_server_shutdown(data):
                        return self._take(connection, state, data, parts[1], received_ms)
        try:
            incoming = read_frame(raw)
        except orjson.JSONDecodeError:
            self._dropped_bad.inc()
            return False
        if isinstance(incoming, Frame):
            state = self.streams.get(incoming.name)
            if state is not None:
                return self._take(connection, state, incoming.data, incoming.data_raw, received_ms)
            self._dropped_unknown.inc()
        elif isinstance(incoming, ControlReply):
            if incoming.failed:
                self._control_errors.inc()
                log.error(
                    "%s: control message %s refused: %s", self.label, incoming.id, incoming.error
                )
                self._reconnect_now.set()  # its URL restores the intended streams
        elif incoming.is_server_shutdown:
            log.info("%s: serverShutdown received; rotating now", self.label)
            self._shutdown_seen.set()
        return False

    def _take(
        self,
        connection: Connection,
        state: StreamState,
        data: Any,
        data_raw: bytes,
        received_ms: int,
    ) -> bool:
        name = state.name
        now = time.monotonic()
        state.last_frame_at = connection.last_data_at = now
        if connection.first_data_at is None:
            connection.first_data_at = now
        connection.delivered.add(name)
        state.uncounted += 1
        key = state.key_of(data)
        if key is not None:
            source = state.last_source
            if (
                source is not None
                and source is not connection
                and (source.is_open or now - state.last_key_at < OVERLAP_GRACE_S)
                and state.last_key is not None
                and key <= state.last_key
            ):
                state.duplicates.inc()
                return False
            state.last_key, state.last_source, state.last_key_at = key, connection, now
        if state.book is not None:
            state.book(data)
        event_ms = event_time(data)
        item: Outgoing = (
            state.destination,
            envelope(state.envelope_head, event_ms, received_ms, data_raw),
            message_id(name, key, data_raw),
            event_ms,
        )
        if not self.queue.offer(item):
            self._dropped_full.inc()
            return True
        return self.queue.full

    def _count_in(self) -> None:
        """Add the frames received since the last call to ``frames_in``: a Prometheus increment
        per frame costs as much as the rest of the reader's bookkeeping, so the supervisor
        does it every ``CHECK_EVERY_S`` (and the slot when it stops)."""
        for state in self.streams.values():
            if state.uncounted:
                state.frames_in.inc(state.uncounted)
                state.uncounted = 0

    def _congested(self) -> bool:
        """The queue is full while NATS takes messages: the reader waits for the publisher.
        With NATS away the reader reads on, and the frames beyond the queue are dropped and
        counted, so the WebSocket stays alive through an outage."""
        return self.queue.full and self._link.connected

    async def _relieved(self) -> None:
        while self._congested():
            await self.queue.wait_room(CONGESTION_CHECK_S)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.publisher.run(), name=f"publisher-{self.label}"),
            asyncio.create_task(self._run(), name=f"slot-{self.label}"),
        ]

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        return self._tasks

    async def stop(self, flush_s: float = 5.0) -> None:
        supervisor = self._tasks[1:] if self._tasks else []
        for task in supervisor:
            task.cancel()
        for task in supervisor:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for connection in (self.incoming, self.current):
            if connection is not None:
                await connection.close()
        self._count_in()
        await self.publisher.flush(flush_s)
        for task in self._tasks[:1]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.metrics.queued.remove(self.market.value, self.route.value, str(self.number))

    async def _run(self) -> None:
        connection: Connection | None = None
        while True:
            if connection is None:
                connection = await self._connect()
            self.current = connection
            reason = await self._serve(connection)
            self._count(reason)
            if reason in ("rotation", "shutdown"):
                connection = await self._replace(connection)
                continue
            data_s = connection.data_seconds()
            await connection.close()
            delay = self._backoff.record(data_flowed_s=data_s)
            log.warning(
                "%s: connection %s (%s); reconnecting in %.1f s",
                self.label,
                connection.number,
                reason,
                delay,
            )
            self.current = connection = None
            await asyncio.sleep(delay)

    def _count(self, reason: str) -> None:
        self.metrics.reconnects.labels(self.market.value, self.route.value, reason).inc()

    def _url(self) -> str:
        return combined_url(self.base_url, self.route.path_prefix, sorted(self.streams))

    async def _open(self) -> Connection:
        await self._limiter.acquire()
        connection = await Connection.open(
            self._url(), pacer=SlidingWindow(control_budget(self.market), CONTROL_WINDOW_S)
        )
        connection.start_reading(self.handle, self._relieved)
        return connection

    async def _connect(self) -> Connection:
        """Open a connection, retrying forever with capped, jittered backoff."""
        while True:
            try:
                connection = await self._open()
                log.info(
                    "%s: connection %s open (%d streams)",
                    self.label,
                    connection.number,
                    len(self.streams),
                )
                return connection
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as error:
                delay = self._backoff.record(data_flowed_s=0.0)
                self._count("failed")
                log.warning(
                    "%s: cannot connect (%s); retrying in %.1f s",
                    self.label,
                    error or type(error).__name__,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _serve(self, connection: Connection) -> str:
        """Until the connection must go: closed, stalled, control_error, rotation, shutdown."""
        self._shutdown_seen.clear()
        self._reconnect_now.clear()
        rotate_at = (
            connection.opened_at
            + self.timing.rotate_after_s
            - self._random() * self.timing.rotate_jitter_s
        )
        assert connection.reader is not None
        while True:
            await asyncio.wait([connection.reader], timeout=CHECK_EVERY_S)
            self._count_in()
            # serverShutdown first: the server closes right after announcing it, and the
            # announcement (reconnect at once, no backoff) must not pass for a plain close.
            if self._shutdown_seen.is_set():
                return "shutdown"
            if connection.reader.done():
                return "closed"
            if self._reconnect_now.is_set():
                return "control_error"
            now = time.monotonic()
            if connection.data_seconds() >= self.timing.data_reset_s:
                self._backoff.succeeded()
            stale = self._stale_stream(connection, now)
            if stale is not None:
                log.warning(
                    "%s: stream %s silent past %.1f s; reconnecting",
                    self.label,
                    stale.stream.name,
                    stale.silence_limit_s,
                )
                return "stalled"
            if now >= rotate_at:
                return "rotation"

    def _stale_stream(self, connection: Connection, now: float) -> StreamState | None:
        for state in self.streams.values():
            since = max(state.last_frame_at or 0.0, state.subscribed_at, connection.opened_at)
            if now - since > state.silence_limit_s:
                return state
        return None

    async def _replace(self, old: Connection) -> Connection:
        """Open the replacement first; close ``old`` once every stream delivered on the new
        one (or ``old`` died, or the streams' silence limits passed)."""
        try:
            new = await self._open()
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as error:
            log.warning("%s: replacement failed (%s); reconnecting", self.label, error)
            await old.close()
            return await self._connect()
        self.incoming = new
        limit = max((s.silence_limit_s for s in self.streams.values()), default=5.0)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and old.is_open and new.is_open:
            if set(self.streams) <= new.delivered:
                break
            await asyncio.sleep(0.05)
            self._count_in()
        # The new connection serves from now on: while the old one closes (a close
        # handshake takes a round trip) readiness must not report this slot as not open.
        self.current, self.incoming = new, None
        await old.close()
        log.info("%s: connection %s replaced by %s", self.label, old.number, new.number)
        return new

    # -- health -----------------------------------------------------------------------------

    def problems(self, now: float | None = None) -> list[str]:
        """Why this slot is not serving fresh data now (empty when it is)."""
        now = time.monotonic() if now is None else now
        connection = self.current
        if connection is None or not connection.is_open:
            return [f"connection {self.label} not open"]
        found = []
        for state in self.streams.values():
            if state.last_frame_at is None:
                found.append(f"stream {self.market.value} {state.stream.name}: no frame yet")
            elif now - state.last_frame_at > state.silence_limit_s:
                age = now - state.last_frame_at
                found.append(f"stream {self.market.value} {state.stream.name}: silent {age:.0f} s")
        return found
