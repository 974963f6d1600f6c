"""The socket client wired together: slots per endpoint, NATS, books, configuration, health.

::

    Plan ─► (market, route) groups ─► ConnectionSlots of <= capacity streams each
                                          reader ─► queue ─► publisher ─► NATS
                                          depth frames ─► BookDesk ─► binance.<m>.book.<S>
    Data Manager ``socketclient.streams`` ─(poll)─► new Plan ─► SUBSCRIBE / UNSUBSCRIBE

Streams are grouped by market and, on USD-M, by route (``/public`` and ``/market``: a
stream on the wrong path connects and stays silent), then cut into slots of at most
``max_streams_per_connection``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import Route, Stream
from petrosa.socketclient.book_sync import SnapshotFetcher
from petrosa.socketclient.books import BookDesk
from petrosa.socketclient.metrics import Metrics
from petrosa.socketclient.nats_link import NatsLink
from petrosa.socketclient.pacing import connection_limiter
from petrosa.socketclient.plan import BookKey, Plan, PlanError, plan_from_document
from petrosa.socketclient.settings import SocketClientSettings
from petrosa.socketclient.slot import BookFeed, ConnectionSlot, SlotTiming

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
Endpoint = tuple[Market, Route]
ConfigReader = Callable[[str], Awaitable[Any]]
"""Reads a Data Manager app-config value by key: the value, or None when it was never set."""


def group_by_endpoint(streams: frozenset[Stream] | set[Stream]) -> dict[Endpoint, list[Stream]]:
    """Streams per (market, route), each list sorted by name."""
    groups: dict[Endpoint, list[Stream]] = defaultdict(list)
    for stream in sorted(streams, key=lambda s: s.name):
        groups[(stream.type.market, stream.type.route)].append(stream)
    return dict(groups)


def shard(streams: list[Stream], capacity: int) -> list[list[Stream]]:
    """Consecutive chunks of at most ``capacity`` streams."""
    return [streams[i : i + capacity] for i in range(0, len(streams), capacity)]


class SocketClient:
    def __init__(
        self,
        settings: SocketClientSettings,
        plan: Plan,
        *,
        fetchers: Mapping[Market, SnapshotFetcher],
        read_config: ConfigReader | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.env_plan = plan
        self.plan = plan
        self.metrics = metrics or Metrics()
        self.link = NatsLink(settings.nats_url, jetstream_window=settings.jetstream_window)
        self.desk = BookDesk(
            self.link,
            self.metrics,
            levels=settings.book_levels,
            publishes_per_s=settings.book_publishes_per_s,
            snapshot_limit=settings.book_snapshot_limit,
        )
        self.slots: dict[Endpoint, list[ConnectionSlot]] = defaultdict(list)
        self.last_beat = time.monotonic()
        self.config_version: int | None = None
        self._fetchers = fetchers
        self._read_config = read_config
        self._limiter = connection_limiter(settings.connection_attempts_per_5_min)
        self._timing = SlotTiming(
            rotate_after_s=settings.rotate_after_s,
            rotate_jitter_s=min(settings.rotate_jitter_s, settings.rotate_after_s / 2),
            event_quiet_s=settings.event_quiet_s,
            backoff_max_s=settings.backoff_max_s,
            data_reset_s=settings.data_reset_s,
        )
        self._slot_numbers: dict[Endpoint, int] = defaultdict(int)
        self._tasks: list[asyncio.Task[None]] = []
        self._applying = asyncio.Lock()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self.link.start()
        for key in self.plan.books:
            self.desk.add(key, self._fetchers[key.market])
        for endpoint, streams in group_by_endpoint(self.plan.streams).items():
            for chunk in shard(streams, self.settings.max_streams_per_connection):
                slot = self._new_slot(endpoint)
                for stream in chunk:
                    slot.place(stream, self._book_feed(stream))
                slot.start()
        self.desk.start()
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="heartbeat"))
        if self._read_config is not None and self.settings.config_poll_s > 0:
            self._tasks.append(asyncio.create_task(self._poll_config(), name="config-poll"))
        log.info(
            "socket client started: %d streams on %d connections, %d books",
            len(self.plan.streams),
            sum(len(s) for s in self.slots.values()),
            len(self.plan.books),
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*(slot.stop() for slot in self.all_slots()))
        await self.desk.stop()
        await self.link.close()

    def all_slots(self) -> list[ConnectionSlot]:
        return [slot for slots in self.slots.values() for slot in slots]

    def _new_slot(self, endpoint: Endpoint) -> ConnectionSlot:
        market, route = endpoint
        self._slot_numbers[endpoint] += 1
        slot = ConnectionSlot(
            market=market,
            route=route,
            number=self._slot_numbers[endpoint],
            base_url=self.settings.ws_url(market),
            capacity=self.settings.max_streams_per_connection,
            link=self.link,
            metrics=self.metrics,
            connect_limiter=self._limiter,
            timing=self._timing,
            queue_size=self.settings.queue_size,
            jetstream_window=self.settings.jetstream_window,
        )
        self.slots[endpoint].append(slot)
        return slot

    def _book_feed(self, stream: Stream) -> BookFeed | None:
        for key, book_stream in self.plan.books.items():
            if book_stream == stream and key in self.desk.books:
                return self.desk.books[key].feed
        return None

    # -- changing the streams while running -------------------------------------------------

    async def apply(self, plan: Plan) -> None:
        """Move the running client to ``plan``: UNSUBSCRIBE what went, SUBSCRIBE what came
        (paced per connection), open slots for what does not fit, close emptied ones."""
        async with self._applying:
            old = self.plan
            removed = old.streams - plan.streams
            added = plan.streams - old.streams
            for key in old.books.keys() - plan.books.keys():
                await self.desk.remove(key)
            self.plan = plan
            for key in plan.books.keys() - old.books.keys():
                self.desk.add(key, self._fetchers[key.market])
            await self._unsubscribe(removed)
            await self._subscribe(added)
            self._reattach_books()
            log.info(
                "streams changed: %d added, %d removed; %d streams on %d connections",
                len(added),
                len(removed),
                len(plan.streams),
                len(self.all_slots()),
            )

    async def _unsubscribe(self, removed: frozenset[Stream]) -> None:
        names = {s.name for s in removed}
        for slots in list(self.slots.values()):
            for slot in list(slots):
                mine = [n for n in slot.streams if n in names]
                if not mine:
                    continue
                if len(mine) == len(slot.streams):
                    slots.remove(slot)
                    await slot.stop()
                else:
                    await slot.unsubscribe(mine)

    async def _subscribe(self, added: frozenset[Stream]) -> None:
        for endpoint, streams in group_by_endpoint(added).items():
            remaining = list(streams)
            for slot in self.slots[endpoint]:
                if not remaining:
                    break
                taken, remaining = remaining[: slot.room], remaining[slot.room :]
                if taken:
                    await slot.subscribe((s, self._book_feed(s)) for s in taken)
            for chunk in shard(remaining, self.settings.max_streams_per_connection):
                slot = self._new_slot(endpoint)
                for stream in chunk:
                    slot.place(stream, self._book_feed(stream))
                slot.start()

    def _reattach_books(self) -> None:
        for slot in self.all_slots():
            for state in slot.streams.values():
                state.book = self._book_feed(state.stream)

    async def _poll_config(self) -> None:
        assert self._read_config is not None
        while True:
            await self.check_config()
            await asyncio.sleep(self.settings.config_poll_s)

    async def check_config(self) -> None:
        """Read the configuration document; apply it when it changed and is valid."""
        assert self._read_config is not None
        try:
            value = await self._read_config(self.settings.config_key)
        except Exception as error:  # the Data Manager being away changes nothing here
            log.warning("configuration %r not read: %s", self.settings.config_key, error)
            return
        if value is None:
            return
        version = getattr(value, "version", None)
        if version is not None and version == self.config_version:
            return
        document = getattr(value, "value", value)
        try:
            plan = plan_from_document(document, fallback=self.env_plan, books=self.settings.books)
        except PlanError as error:
            log.error(
                "configuration %r version %s refused (%s); keeping the current streams",
                self.settings.config_key,
                version,
                error,
            )
            self.config_version = version
            return
        self.config_version = version
        if plan.streams != self.plan.streams or plan.books.keys() != self.plan.books.keys():
            await self.apply(plan)

    # -- health -----------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            self.last_beat = time.monotonic()
            await asyncio.sleep(HEARTBEAT_S)

    def liveness_problems(self) -> list[str]:
        """Why the process is wedged or broken (empty when alive)."""
        problems = []
        age = time.monotonic() - self.last_beat
        if age > self.settings.liveness_max_beat_age_s:
            problems.append(f"event loop stalled: heartbeat {age:.0f} s old")
        for task in self._tasks + [t for s in self.all_slots() for t in s.tasks]:
            if task.done() and not task.cancelled():
                problems.append(f"task {task.get_name()} ended")
        return problems

    def readiness_problems(self) -> list[str]:
        """Why the feed is not whole and fresh now (empty when it is)."""
        problems: list[str] = []
        if not self.link.connected:
            problems.append("nats not connected")
        for slot in self.all_slots():
            problems.extend(slot.problems())
        problems.extend(self.desk.problems())
        return problems

    def book_keys(self) -> list[BookKey]:
        return list(self.desk.books)
