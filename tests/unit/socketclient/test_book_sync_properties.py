"""Property: a book kept from Binance-shaped events equals the exchange's book, always.

A random history of single-level updates (spot ids contiguous; futures ids with gaps, as
other symbols' updates take ids in between) is cut into events the way Binance batches
them: absolute final quantities per level, ``U``/``u`` the first and last id, ``pu`` the
previous event's ``u``. The stream is joined mid-history, the snapshot is taken at a random
update id (sometimes before the stream joined: stale), events are re-delivered at random,
and one may be lost. After every step, a synced book must equal the reference book at its
``last_update_id``; at the end it must be synced and equal the final reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from petrosa.socketclient.book import LocalBook
from petrosa.socketclient.book_sync import BookSync, SyncStep

Update = tuple[str, str, str]
"""(side ``b``/``a``, price text, quantity text) of one update to one level."""

PRICE_TEXTS = [
    text
    for whole in range(95, 106)
    for text in (f"{whole}", f"{whole}.0", f"{whole}.50", f"{whole}.5")
]
"""Prices spelled several ways: "95" and "95.0" are one level, "95.50" and "95.5" another."""
ZERO_TEXTS = ["0", "0.000", "0.00000000"]

quantities = st.one_of(
    st.sampled_from(ZERO_TEXTS),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(50), places=3).map(str),
)
updates = st.tuples(st.sampled_from(["b", "a"]), st.sampled_from(PRICE_TEXTS), quantities)


@dataclass
class History:
    """What the exchange did: a starting book, numbered updates, and the events sent."""

    market: str
    start_id: int
    initial: list[Update]
    updates: list[tuple[int, Update]]
    events: list[dict[str, Any]] = field(default_factory=list)

    def snapshot_at(self, update_id: int) -> dict[str, Any]:
        """The REST body of the book after every update with an id up to ``update_id``."""
        levels: dict[tuple[str, Decimal], tuple[str, str]] = {}
        changes = self.initial + [u for i, u in self.updates if i <= update_id]
        for side, price, quantity in changes:
            if Decimal(quantity) == 0:
                levels.pop((side, Decimal(price)), None)
            else:
                levels[side, Decimal(price)] = (price, quantity)
        return {
            "lastUpdateId": update_id,
            "bids": [list(level) for (side, _), level in levels.items() if side == "b"],
            "asks": [list(level) for (side, _), level in levels.items() if side == "a"],
        }

    def book_at(self, update_id: int) -> LocalBook:
        return LocalBook.from_snapshot(self.snapshot_at(update_id))

    @property
    def snapshot_ids(self) -> list[int]:
        """Ids a snapshot can carry: the start and every update's id."""
        return [self.start_id] + [i for i, _ in self.updates]


@st.composite
def histories(draw: st.DrawFn, market: str) -> History:
    start_id = draw(st.integers(0, 10**12))
    initial = draw(st.lists(updates, max_size=12))
    count = draw(st.integers(1, 40))
    steps = draw(
        st.lists(st.integers(1, 1 if market == "spot" else 4), min_size=count, max_size=count)
    )
    ids = [start_id + sum(steps[: n + 1]) for n in range(count)]
    history = History(market, start_id, initial, [(i, draw(updates)) for i in ids])
    cuts = sorted(draw(st.sets(st.integers(1, count - 1))) if count > 1 else set())
    previous = start_id
    for begin, end in zip([0, *cuts], [*cuts, count], strict=True):
        batch = history.updates[begin:end]
        last_write: dict[tuple[str, Decimal], tuple[str, str, str]] = {}
        for _, (side, price, quantity) in batch:
            last_write[side, Decimal(price)] = (side, price, quantity)
        event: dict[str, Any] = {
            "e": "depthUpdate",
            "E": 0,
            "s": "BTCUSDT",
            "U": batch[0][0],
            "u": batch[-1][0],
            "b": [[p, q] for s, p, q in last_write.values() if s == "b"],
            "a": [[p, q] for s, p, q in last_write.values() if s == "a"],
        }
        if market == "futures":
            event["pu"] = previous
        history.events.append(event)
        previous = batch[-1][0]
    return history


class Checked:
    """A ``BookSync`` whose book is compared with the reference after every step."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.sync = BookSync(history.market, "BTCUSDT")

    def event(self, event: dict[str, Any]) -> SyncStep:
        return self._checked(self.sync.on_event(event))

    def snapshot(self, update_id: int) -> SyncStep:
        return self._checked(self.sync.on_snapshot(self.history.snapshot_at(update_id)))

    def _checked(self, step: SyncStep) -> SyncStep:
        if self.sync.synced:
            assert self.sync.last_update_id is not None
            expected = self.history.book_at(self.sync.last_update_id)
            assert self.sync.book.differences(expected) == [], step
        else:
            assert self.sync.book.top(1) == ([], [])
        return step

    def assert_final(self) -> None:
        final_id = self.history.updates[-1][0]
        assert self.sync.synced
        assert self.sync.last_update_id == final_id
        assert self.sync.book.differences(self.history.book_at(final_id)) == []


@settings(max_examples=300, deadline=None)
@given(market=st.sampled_from(["spot", "futures"]), data=st.data())
def test_a_book_synced_from_any_point_equals_the_exchange_book(
    market: str, data: st.DataObject
) -> None:
    history = data.draw(histories(market))
    events = history.events
    joined = data.draw(st.integers(0, len(events) - 1), label="first event received")
    before_snapshot = data.draw(st.integers(1, len(events) - joined), label="events buffered")
    ids = history.snapshot_ids
    at_join = ids.index(events[joined]["U"])  # the edge between stale and bridging
    snapshot_id = data.draw(
        st.sampled_from(ids) | st.sampled_from(ids[max(0, at_join - 2) : at_join + 1]),
        label="snapshot id",
    )
    stream = events[joined:]
    redelivered = data.draw(
        st.lists(st.integers(0, len(stream) - 1), max_size=4), label="redelivered after"
    )
    checked = Checked(history)

    for position, event in enumerate(stream):
        assert checked.event(event) in {
            SyncStep.BUFFERED, SyncStep.APPLIED, SyncStep.IGNORED,
        }  # fmt: skip
        for again in redelivered:
            if again <= position and data.draw(st.booleans()):
                assert checked.event(stream[again]) is SyncStep.IGNORED
        if position + 1 == before_snapshot:
            stale = joined > 0 and snapshot_id < events[joined - 1]["u"]
            step = checked.snapshot(snapshot_id)
            assert step is (SyncStep.STALE_SNAPSHOT if stale else SyncStep.SYNCED)
            if stale:
                assert checked.snapshot(event["u"]) is SyncStep.SYNCED
    assert checked.sync.resyncs == 0
    checked.assert_final()


@settings(max_examples=300, deadline=None)
@given(market=st.sampled_from(["spot", "futures"]), data=st.data())
def test_a_lost_event_is_a_gap_and_the_resynced_book_is_exact_again(
    market: str, data: st.DataObject
) -> None:
    history = data.draw(histories(market))
    events = history.events
    assume(len(events) >= 3)
    checked = Checked(history)
    assert checked.event(events[0]) is SyncStep.BUFFERED
    assert checked.snapshot(history.start_id) is SyncStep.SYNCED
    lost = data.draw(st.integers(1, len(events) - 2), label="lost event")
    for event in events[1:lost]:
        assert checked.event(event) is SyncStep.APPLIED
    after_gap = events[lost + 1 :]
    assert checked.event(after_gap[0]) is SyncStep.GAP
    assert checked.sync.needs_snapshot
    received = data.draw(st.integers(1, len(after_gap)), label="events buffered after the gap")
    for event in after_gap[1:received]:
        assert checked.event(event) is SyncStep.BUFFERED
    # Any snapshot from the lost event on bridges, even one newer than what was received.
    resync_ids = [i for i in history.snapshot_ids if events[lost]["u"] <= i]
    snapshot_id = data.draw(st.sampled_from(resync_ids), label="resync snapshot id")
    assert checked.snapshot(snapshot_id) is SyncStep.SYNCED
    for event in after_gap[received:]:
        assert checked.event(event) in {SyncStep.APPLIED, SyncStep.IGNORED}
    assert checked.sync.resyncs == 1
    checked.assert_final()
