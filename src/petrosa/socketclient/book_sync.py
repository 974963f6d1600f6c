"""Keeping a local order book in step with Binance: diff-depth events + a REST snapshot.

``BookSync`` is the rule book, sans-IO: it is handed events and snapshots and answers what
it did (a ``SyncStep``); it never waits, fetches or sleeps, so every rule is tested by
feeding it dictionaries. ``BookKeeper`` drives one with a real snapshot fetch.

The rules are Binance's (``BINANCE.md``, "Local order book"):

spot
    Buffer events; fetch a snapshot (id ``L``). Drop buffered events with ``u <= L``; the
    first one kept must have ``U <= L + 1`` — if not, the snapshot is older than the stream
    and is fetched again (Binance's "``L`` < first ``U``", read together with the bridge
    condition: a snapshot ending at ``U - 1`` bridges exactly). Then, with ``id`` the book's
    last update id: ``u <= id`` → ignore; ``U > id + 1`` → gap; otherwise apply, ``id = u``.
USD-M futures
    Buffer events; fetch a snapshot. Drop events with ``u < L``; the first one applied has
    ``U <= L <= u``. Every later event's ``pu`` must be the previous event's ``u``, else gap.
    Two readings that follow from the rules rather than add to them: an event with ``pu ==
    L`` also bridges (it starts right after the snapshot's last update), and an event with
    ``u <= id`` after the bridge is a duplicate (e.g. from an overlapping connection) and is
    ignored, not taken for a gap.

A gap never corrupts the book: the book is emptied and marked unsynced (not publishable),
the event that revealed the gap starts a new buffer, and ``needs_snapshot`` asks for a new
snapshot. While unsynced, the buffer is bounded (``max_buffer``): on overflow the oldest
event is dropped and counted. Dropping from the front keeps what remains contiguous; it
only makes an older snapshot useless, which the stale-snapshot check catches (fetch
again). A discontinuity *inside* the buffer (a frame lost upstream) empties the buffer up to
the new event, since nothing before a gap can be bridged to a snapshot taken after it.

A malformed event is refused whole (``MALFORMED``) and changes nothing; if it carried real
updates, the next event's ids no longer follow and that is a gap, as it should be.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from petrosa.contracts.market import Market
from petrosa.resilience import RandomUnit, Sleep, full_jitter_backoff
from petrosa.socketclient.book import (
    BookDataError,
    LevelChange,
    LocalBook,
    parse_levels,
    snapshot_update_id,
)

log = logging.getLogger("petrosa.socketclient.book")

DEFAULT_MAX_BUFFER = 1_000
"""Events kept while waiting for a snapshot: 100 s of ``@depth@100ms``, far longer than a
snapshot takes even after a few retries."""
DEFAULT_SNAPSHOT_LIMITS = {Market.SPOT: 5_000, Market.FUTURES: 1_000}
"""Snapshot depth: the deepest each market serves (weight 250 spot, 20 futures)."""
DEFAULT_RETRY_INITIAL_S = 0.5
DEFAULT_RETRY_MAX_S = 30.0
"""Full-jitter backoff between failed or stale snapshot fetches: a resync storm must not
spend the IP's request weight (a spot snapshot of 5,000 levels weighs 250 of 6,000/min)."""

SnapshotFetcher = Callable[[str, int], Awaitable[Mapping[str, Any]]]
"""``async def fetch(symbol, limit)`` returning a REST ``/depth`` body, e.g.
``BinanceClient.depth``."""


class SyncStep(StrEnum):
    """What ``BookSync`` did with an event or a snapshot."""

    BUFFERED = "buffered"
    """No usable snapshot yet: the event was kept for when one arrives."""
    APPLIED = "applied"
    """The book changed and is synced."""
    IGNORED = "ignored"
    """Already contained in the book or buffer (old or duplicate), or a snapshot not needed."""
    SYNCED = "synced"
    """A snapshot was loaded and the buffered events replayed: the book is synced now."""
    STALE_SNAPSHOT = "stale_snapshot"
    """The snapshot is older than the buffered events and cannot be bridged: fetch again."""
    GAP = "gap"
    """Continuity broke: the book was dropped and a new snapshot is needed (a resync)."""
    MALFORMED = "malformed"
    """The event or snapshot was not a valid depth message; nothing changed."""


@dataclass(frozen=True, slots=True)
class DiffEvent:
    """A diff-depth event, validated: its update-id range and its parsed level changes."""

    first_id: int
    """``U``: the first update id in the event."""
    last_id: int
    """``u``: the last update id in the event."""
    previous_id: int | None
    """``pu`` (futures): the last update id of the stream's previous event."""
    bids: list[LevelChange]
    asks: list[LevelChange]

    @classmethod
    def parse(cls, event: Mapping[str, Any], market: Market) -> DiffEvent:
        """Validate a ``depthUpdate`` payload (the ``data`` of a combined frame)."""
        first_id, last_id = _update_id(event, "U"), _update_id(event, "u")
        if first_id > last_id:
            raise BookDataError(f"an event's U ({first_id}) must not exceed its u ({last_id})")
        previous_id = _update_id(event, "pu") if market is Market.FUTURES else None
        return cls(
            first_id,
            last_id,
            previous_id,
            parse_levels(event.get("b")),
            parse_levels(event.get("a")),
        )


def _update_id(event: Mapping[str, Any], key: str) -> int:
    value = event.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BookDataError(f"a depth event needs an integer {key!r}, got {value!r}")
    return value


@dataclass
class SyncCounters:
    """What happened so far, for metrics and tests."""

    applied: int = 0
    ignored: int = 0
    resyncs: int = 0
    """Gaps that dropped a synced book."""
    stale_snapshots: int = 0
    buffer_restarts: int = 0
    """Discontinuities inside the buffer (it was emptied up to the new event)."""
    dropped: int = 0
    """Buffered events dropped because the buffer was full."""
    malformed: int = 0


class BookSync:
    """One symbol's local book on one market, kept by Binance's diff-depth rules (sans-IO).

    ::

        sync = BookSync("futures", "BTCUSDT")
        sync.on_event(data)            # BUFFERED: now sync.needs_snapshot
        sync.on_snapshot(rest_body)    # SYNCED (or STALE_SNAPSHOT: fetch again)
        sync.on_event(data)            # APPLIED, IGNORED or GAP (needs_snapshot again)
        if sync.synced:
            bids, asks = sync.book.top(20)
    """

    def __init__(
        self, market: Market | str, symbol: str, *, max_buffer: int = DEFAULT_MAX_BUFFER
    ) -> None:
        if max_buffer < 1:
            raise ValueError("max_buffer must be at least 1")
        self.market = Market(market)
        self.symbol = symbol
        self.book = LocalBook()
        self.counters = SyncCounters()
        self._buffer: deque[DiffEvent] = deque(maxlen=max_buffer)
        self._synced = False
        self._bridged = False
        """Futures: the first event after the snapshot (``U <= L <= u``) was applied."""

    # -- state ------------------------------------------------------------------------------

    @property
    def synced(self) -> bool:
        """Whether the book is a true state of the exchange's book (publishable)."""
        return self._synced

    @property
    def needs_snapshot(self) -> bool:
        """Whether a snapshot should be fetched now: unsynced, with an event buffered."""
        return not self._synced and bool(self._buffer)

    @property
    def resyncs(self) -> int:
        return self.counters.resyncs

    @property
    def last_update_id(self) -> int | None:
        """The book's last update id while synced; None otherwise."""
        return self.book.last_update_id if self._synced else None

    @property
    def buffered(self) -> int:
        """Events waiting for a snapshot."""
        return len(self._buffer)

    # -- input ------------------------------------------------------------------------------

    def on_event(self, event: Mapping[str, Any]) -> SyncStep:
        """Take the next diff-depth event of the stream, in stream order."""
        try:
            diff = DiffEvent.parse(event, self.market)
        except BookDataError:
            self.counters.malformed += 1
            return SyncStep.MALFORMED
        if self._synced:
            step = self._advance(diff)
            if step is SyncStep.GAP:
                self._drop_book(diff)
            return step
        return self._buffer_event(diff)

    def on_snapshot(self, snapshot: Mapping[str, Any]) -> SyncStep:
        """Take a REST ``/depth`` body; load it if it bridges the buffered events."""
        if self._synced:
            return SyncStep.IGNORED
        try:
            snapshot_id = snapshot_update_id(snapshot)
            candidate = LocalBook.from_snapshot(snapshot)
        except BookDataError:
            self.counters.malformed += 1
            return SyncStep.MALFORMED
        while self._buffer and self._precedes(self._buffer[0], snapshot_id, bridged=False):
            self._buffer.popleft()
        if self._buffer and not self._bridges(self._buffer[0], snapshot_id):
            self.counters.stale_snapshots += 1
            return SyncStep.STALE_SNAPSHOT
        self.book.adopt(candidate)
        self._synced, self._bridged = True, False
        pending, self._buffer = list(self._buffer), deque(maxlen=self._buffer.maxlen)
        for position, diff in enumerate(pending):
            if self._advance(diff) is SyncStep.GAP:
                # Unreachable while the buffer is contiguous; kept so a gap stays a gap.
                self._drop_book(diff)
                self._buffer.extend(pending[position + 1 :])
                return SyncStep.GAP
        return SyncStep.SYNCED

    # -- the rules --------------------------------------------------------------------------

    def _advance(self, diff: DiffEvent) -> SyncStep:
        """Apply ``diff`` to the synced book if it continues it; say GAP if it cannot."""
        book_id = self.book.last_update_id
        assert book_id is not None, "a synced book always has an update id"
        if self._precedes(diff, book_id, bridged=self._bridged):
            self.counters.ignored += 1
            return SyncStep.IGNORED
        follows = self._continues(diff, book_id) if self._bridged else self._bridges(diff, book_id)
        if not follows:
            return SyncStep.GAP
        self.book.apply_parsed(diff.bids, diff.asks, update_id=diff.last_id)
        self._bridged = True
        self.counters.applied += 1
        return SyncStep.APPLIED

    def _precedes(self, diff: DiffEvent, book_id: int, *, bridged: bool) -> bool:
        """Whether the book at ``book_id`` already contains all of ``diff``.

        Futures before the bridge keep the event ending exactly at the snapshot id
        (Binance: drop ``u < lastUpdateId``); re-applying it is harmless, quantities being
        absolute.
        """
        if self.market is Market.FUTURES and not bridged:
            return diff.last_id < book_id
        return diff.last_id <= book_id

    def _bridges(self, diff: DiffEvent, snapshot_id: int) -> bool:
        """Whether ``diff`` (not preceding the snapshot) may be the first applied on it."""
        if self.market is Market.SPOT:
            return diff.first_id <= snapshot_id + 1
        return diff.first_id <= snapshot_id or diff.previous_id == snapshot_id

    def _continues(self, diff: DiffEvent, book_id: int) -> bool:
        """Whether ``diff`` directly follows the event that brought the book to ``book_id``."""
        if self.market is Market.SPOT:
            return diff.first_id <= book_id + 1
        return diff.previous_id == book_id

    def _buffer_event(self, diff: DiffEvent) -> SyncStep:
        if self._buffer:
            last = self._buffer[-1]
            if diff.last_id <= last.last_id:
                self.counters.ignored += 1
                return SyncStep.IGNORED
            if not self._continues(diff, last.last_id):
                self._buffer.clear()
                self.counters.buffer_restarts += 1
        if len(self._buffer) == self._buffer.maxlen:
            self.counters.dropped += 1
        self._buffer.append(diff)
        return SyncStep.BUFFERED

    def _drop_book(self, gap_event: DiffEvent) -> None:
        """After a gap: empty, unsynced book; the revealing event starts a new buffer."""
        self.book.clear()
        self._synced = self._bridged = False
        self._buffer.clear()
        self._buffer.append(gap_event)
        self.counters.resyncs += 1


class BookKeeper:
    """Drives one ``BookSync`` with a real snapshot fetch, without ever blocking intake.

    ::

        keeper = BookKeeper("futures", "BTCUSDT", binance.depth)
        for data in frames:             # the connection's reader, in stream order
            keeper.feed(data)           # never awaits
        if keeper.synced:
            publish(keeper.book.top(20), keeper.last_update_id)
        await keeper.aclose()

    ``feed`` hands the event to the rules and, when they need a snapshot (after the first
    event is buffered, or after a gap), starts one background fetch task. Events that arrive
    while a fetch is in flight (or while it waits to retry) are buffered by the rules (up to
    ``max_buffer``) and checked against the snapshot when it lands: older ones are dropped,
    the rest replayed. A failed, malformed or stale snapshot is fetched again after a capped,
    full-jitter backoff; the task ends once the book is synced.
    """

    def __init__(
        self,
        market: Market | str,
        symbol: str,
        fetch: SnapshotFetcher,
        *,
        limit: int | None = None,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        retry_initial_s: float = DEFAULT_RETRY_INITIAL_S,
        retry_max_s: float = DEFAULT_RETRY_MAX_S,
        sleep: Sleep = asyncio.sleep,
        random: RandomUnit = random.random,
    ) -> None:
        self.sync = BookSync(market, symbol, max_buffer=max_buffer)
        self.limit = DEFAULT_SNAPSHOT_LIMITS[self.sync.market] if limit is None else limit
        self.fetches = 0
        """Snapshot requests started."""
        self.fetch_failures = 0
        """Snapshot requests that raised."""
        self._fetch = fetch
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._sleep = sleep
        self._random = random
        self._task: asyncio.Task[None] | None = None
        self._synced = asyncio.Event()
        self._closed = False

    @property
    def market(self) -> Market:
        return self.sync.market

    @property
    def symbol(self) -> str:
        return self.sync.symbol

    @property
    def synced(self) -> bool:
        return self.sync.synced

    @property
    def book(self) -> LocalBook:
        """The book (one object for the keeper's life); publishable only while ``synced``."""
        return self.sync.book

    @property
    def resyncs(self) -> int:
        return self.sync.resyncs

    @property
    def last_update_id(self) -> int | None:
        return self.sync.last_update_id

    def feed(self, event: Mapping[str, Any]) -> SyncStep:
        """Take the stream's next diff-depth event (in order); start a fetch if needed."""
        step = self.sync.on_event(event)
        if step is SyncStep.GAP:
            log.warning(
                "%s %s depth: gap at U=%s u=%s, resyncing (resync %d)",
                self.market.value,
                self.symbol,
                event.get("U"),
                event.get("u"),
                self.sync.resyncs,
            )
        self._after_change()
        return step

    async def wait_synced(self) -> None:
        """Return once the book is synced (at once if it is)."""
        await self._synced.wait()

    async def aclose(self) -> None:
        """Stop a fetch in progress; the keeper keeps its book but fetches no more."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise

    def _after_change(self) -> None:
        if self.sync.synced:
            self._synced.set()
        else:
            self._synced.clear()
        idle = self._task is None or self._task.done()
        if self.sync.needs_snapshot and idle and not self._closed:
            self._task = asyncio.get_running_loop().create_task(
                self._fetch_until_synced(), name=f"book-snapshot-{self.market.value}-{self.symbol}"
            )

    async def _fetch_until_synced(self) -> None:
        """Fetch snapshots until one syncs the book, backing off after each one that did not.

        Only this task calls ``on_snapshot`` and ``feed`` never awaits, so the two never
        interleave inside a rule: each runs whole between the event loop's turns.
        """
        attempts = 0
        while self.sync.needs_snapshot:
            self.fetches += 1
            try:
                snapshot = await self._fetch(self.symbol, self.limit)
            except Exception as error:  # any failure of the fetch: retry, intake goes on
                self.fetch_failures += 1
                log.warning(
                    "%s %s depth snapshot failed: %r", self.market.value, self.symbol, error
                )
                step = None
            else:
                step = self.sync.on_snapshot(snapshot)
                self._after_change()
            if step in (SyncStep.SYNCED, SyncStep.IGNORED):
                attempts = 0
                continue
            attempts += 1
            await self._sleep(
                full_jitter_backoff(
                    attempts,
                    initial_s=self._retry_initial_s,
                    max_s=self._retry_max_s,
                    random=self._random,
                )
            )
