"""Keeping a local order book in step with Binance: diff-depth events + a REST snapshot.

``BookSync`` is the rule book, sans-IO: it is handed events and snapshots and answers what
it did (a ``SyncStep``); it never waits, fetches or sleeps, so every rule is tested by
feeding it dictionaries. ``BookKeeper`` (in ``book_keeper``) drives one with a real fetch.

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

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from petrosa.contracts.market import Market
from petrosa.socketclient.book import (
    BookDataError,
    LevelChange,
    LocalBook,
    parse_levels,
    snapshot_update_id,
)

DEFAULT_MAX_BUFFER = 1_000
"""Events kept while waiting for a snapshot: 100 s of ``@depth@100ms``, far longer than a
snapshot takes even after a few retries."""


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
