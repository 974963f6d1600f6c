"""``BookSync``: every spot and futures continuity rule of BINANCE.md, one test each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from petrosa.socketclient.book import LocalBook
from petrosa.socketclient.book_sync import BookSync, SyncStep

Levels = list[list[str]]


def spot_event(
    first: int, last: int, b: Levels | None = None, a: Levels | None = None
) -> dict[str, Any]:
    return {
        "e": "depthUpdate",
        "E": 1,
        "s": "BTCUSDT",
        "U": first,
        "u": last,
        "b": b or [],
        "a": a or [],
    }


def futures_event(
    first: int, last: int, previous: int, b: Levels | None = None, a: Levels | None = None
) -> dict[str, Any]:
    return {**spot_event(first, last, b, a), "T": 1, "pu": previous}


def event_maker(market: str) -> Callable[[int, int], dict[str, Any]]:
    """Events of ``market`` whose ids chain when ``first`` is the previous ``last + 1``."""
    if market == "spot":
        return spot_event
    return lambda first, last: futures_event(first, last, first - 1)


def snapshot(update_id: int, b: Levels | None = None, a: Levels | None = None) -> dict[str, Any]:
    return {"lastUpdateId": update_id, "bids": b or [["10", "1"]], "asks": a or [["11", "1"]]}


def spot_synced_at(update_id: int) -> BookSync:
    sync = BookSync("spot", "BTCUSDT")
    assert sync.on_event(spot_event(update_id + 1, update_id + 1)) is SyncStep.BUFFERED
    assert sync.on_snapshot(snapshot(update_id)) is SyncStep.SYNCED
    return sync


def futures_synced_at(update_id: int) -> BookSync:
    sync = BookSync("futures", "BTCUSDT")
    assert (
        sync.on_event(futures_event(update_id - 2, update_id, update_id - 5)) is SyncStep.BUFFERED
    )
    assert sync.on_snapshot(snapshot(update_id)) is SyncStep.SYNCED
    return sync


# -- spot -------------------------------------------------------------------------------------


def test_spot_events_are_buffered_until_a_snapshot_and_then_one_is_needed() -> None:
    sync = BookSync("spot", "BTCUSDT")
    assert not sync.needs_snapshot
    assert sync.on_event(spot_event(101, 105)) is SyncStep.BUFFERED
    assert sync.on_event(spot_event(106, 110)) is SyncStep.BUFFERED
    assert sync.needs_snapshot
    assert not sync.synced
    assert sync.buffered == 2
    assert sync.last_update_id is None


def test_spot_snapshot_older_than_the_first_buffered_event_is_fetched_again() -> None:
    sync = BookSync("spot", "BTCUSDT")
    sync.on_event(spot_event(101, 105, b=[["10", "2"]]))
    assert sync.on_snapshot(snapshot(99)) is SyncStep.STALE_SNAPSHOT
    assert sync.needs_snapshot
    assert sync.buffered == 1
    assert sync.counters.stale_snapshots == 1
    assert sync.on_snapshot(snapshot(103)) is SyncStep.SYNCED
    assert sync.book.top(1)[0] == [("10", "2")]
    assert sync.last_update_id == 105


def test_spot_snapshot_ending_just_before_the_first_event_bridges_it() -> None:
    sync = BookSync("spot", "BTCUSDT")
    sync.on_event(spot_event(101, 105, a=[["11", "0"], ["12", "3"]]))
    assert sync.on_snapshot(snapshot(100)) is SyncStep.SYNCED
    assert sync.book.top(5)[1] == [("12", "3")]
    assert sync.last_update_id == 105


def test_spot_buffered_events_the_snapshot_contains_are_dropped() -> None:
    sync = BookSync("spot", "BTCUSDT")
    sync.on_event(spot_event(101, 105, b=[["10", "5"]]))  # u <= 107: dropped
    sync.on_event(spot_event(106, 110, b=[["9", "1"]]))  # U <= 108 <= u: the first kept
    sync.on_event(spot_event(111, 111, b=[["8", "1"]]))
    assert sync.on_snapshot(snapshot(107)) is SyncStep.SYNCED
    assert sync.book.top(5)[0] == [("10", "1"), ("9", "1"), ("8", "1")]
    assert sync.last_update_id == 111
    assert sync.counters.applied == 2


def test_spot_snapshot_newer_than_every_buffered_event_is_the_book() -> None:
    sync = BookSync("spot", "BTCUSDT")
    sync.on_event(spot_event(101, 105, b=[["10", "5"]]))
    assert sync.on_snapshot(snapshot(120)) is SyncStep.SYNCED
    assert sync.book == LocalBook.from_snapshot(snapshot(120))
    assert sync.on_event(spot_event(115, 120)) is SyncStep.IGNORED
    assert sync.on_event(spot_event(118, 125, b=[["10", "3"]])) is SyncStep.APPLIED
    assert sync.last_update_id == 125


def test_spot_old_and_duplicate_events_are_ignored() -> None:
    sync = spot_synced_at(100)
    assert sync.on_event(spot_event(102, 104, b=[["10", "2"]])) is SyncStep.APPLIED
    assert sync.on_event(spot_event(102, 104, b=[["10", "9"]])) is SyncStep.IGNORED
    assert sync.on_event(spot_event(90, 95)) is SyncStep.IGNORED
    assert sync.book.top(1)[0] == [("10", "2")]
    assert sync.counters.ignored == 2


def test_spot_overlapping_event_is_applied() -> None:
    sync = spot_synced_at(100)
    sync.on_event(spot_event(102, 104))
    assert sync.on_event(spot_event(103, 107, b=[["10", "4"]])) is SyncStep.APPLIED
    assert sync.last_update_id == 107


def test_spot_gap_drops_the_book_and_resyncs_to_a_correct_book() -> None:
    sync = spot_synced_at(100)
    sync.on_event(spot_event(102, 104, b=[["10", "2"]]))
    assert sync.on_event(spot_event(106, 108, b=[["10", "7"]])) is SyncStep.GAP
    assert not sync.synced
    assert sync.needs_snapshot
    assert sync.resyncs == 1
    assert sync.book.top(5) == ([], [])
    assert sync.last_update_id is None
    assert sync.on_event(spot_event(109, 110, a=[["11", "6"]])) is SyncStep.BUFFERED
    assert sync.on_snapshot(snapshot(107, b=[["10", "3"]])) is SyncStep.SYNCED
    assert sync.book.top(1) == ([("10", "7")], [("11", "6")])
    assert sync.last_update_id == 110
    assert sync.resyncs == 1


# -- futures ----------------------------------------------------------------------------------


def test_futures_drops_events_before_the_snapshot_and_bridges_with_the_one_containing_it() -> None:
    sync = BookSync("futures", "BTCUSDT")
    sync.on_event(futures_event(90, 95, 80, b=[["10", "5"]]))  # u < 100: dropped
    sync.on_event(futures_event(98, 102, 95, b=[["9", "1"]]))  # U <= 100 <= u
    sync.on_event(futures_event(110, 112, 102, b=[["8", "1"]]))  # gaps between u and U are normal
    assert sync.on_snapshot(snapshot(100)) is SyncStep.SYNCED
    assert sync.book.top(5)[0] == [("10", "1"), ("9", "1"), ("8", "1")]
    assert sync.last_update_id == 112


def test_futures_keeps_the_event_ending_exactly_at_the_snapshot() -> None:
    sync = BookSync("futures", "BTCUSDT")
    sync.on_event(futures_event(96, 100, 90, b=[["10", "5"]]))
    assert sync.on_snapshot(snapshot(100, b=[["10", "5"]])) is SyncStep.SYNCED
    assert sync.counters.applied == 1
    assert sync.on_event(futures_event(104, 106, 100, b=[["10", "6"]])) is SyncStep.APPLIED
    assert sync.last_update_id == 106


def test_futures_snapshot_older_than_the_buffered_events_is_fetched_again() -> None:
    sync = BookSync("futures", "BTCUSDT")
    sync.on_event(futures_event(101, 105, 97))
    assert sync.on_snapshot(snapshot(99)) is SyncStep.STALE_SNAPSHOT
    assert sync.needs_snapshot
    assert sync.on_snapshot(snapshot(103)) is SyncStep.SYNCED


def test_futures_event_right_after_the_snapshot_bridges_by_pu() -> None:
    sync = BookSync("futures", "BTCUSDT")
    sync.on_event(futures_event(101, 105, 97))
    assert sync.on_snapshot(snapshot(97)) is SyncStep.SYNCED


def test_futures_snapshot_newer_than_every_buffered_event_waits_for_the_bridge() -> None:
    sync = BookSync("futures", "BTCUSDT")
    sync.on_event(futures_event(90, 95, 80))
    assert sync.on_snapshot(snapshot(100)) is SyncStep.SYNCED
    assert sync.on_event(futures_event(96, 99, 95)) is SyncStep.IGNORED
    assert sync.on_event(futures_event(99, 104, 99, b=[["10", "2"]])) is SyncStep.APPLIED
    assert sync.last_update_id == 104


def test_futures_first_event_not_reaching_back_to_the_snapshot_is_a_gap() -> None:
    sync = BookSync("futures", "BTCUSDT")
    sync.on_event(futures_event(90, 95, 80))
    sync.on_snapshot(snapshot(100))
    assert sync.on_event(futures_event(103, 104, 101)) is SyncStep.GAP
    assert not sync.synced
    assert sync.resyncs == 1


def test_futures_pu_must_be_the_previous_u() -> None:
    sync = futures_synced_at(100)
    assert sync.on_event(futures_event(105, 107, 100, b=[["10", "2"]])) is SyncStep.APPLIED
    assert sync.on_event(futures_event(112, 115, 109, b=[["10", "9"]])) is SyncStep.GAP
    assert sync.book.top(5) == ([], [])
    assert sync.needs_snapshot
    assert sync.on_event(futures_event(117, 118, 115, a=[["11", "4"]])) is SyncStep.BUFFERED
    assert sync.on_snapshot(snapshot(113, b=[["10", "1"]])) is SyncStep.SYNCED
    assert sync.book.top(1) == ([("10", "9")], [("11", "4")])
    assert sync.last_update_id == 118


def test_futures_duplicate_events_are_ignored_not_gaps() -> None:
    sync = futures_synced_at(100)
    sync.on_event(futures_event(105, 107, 100, b=[["10", "2"]]))
    assert sync.on_event(futures_event(105, 107, 100, b=[["10", "8"]])) is SyncStep.IGNORED
    assert sync.on_event(futures_event(108, 109, 107)) is SyncStep.APPLIED
    assert sync.book.top(1)[0] == [("10", "2")]
    assert sync.resyncs == 0


def test_futures_events_need_pu() -> None:
    sync = BookSync("futures", "BTCUSDT")
    assert sync.on_event(spot_event(1, 2)) is SyncStep.MALFORMED
    assert not sync.needs_snapshot


# -- both markets -----------------------------------------------------------------------------


@pytest.mark.parametrize("market", ["spot", "futures"])
def test_a_discontinuity_inside_the_buffer_restarts_it(market: str) -> None:
    sync = BookSync(market, "BTCUSDT")
    make = event_maker(market)
    sync.on_event(make(101, 105))
    sync.on_event(make(110, 112))  # 106-109 lost upstream
    assert sync.counters.buffer_restarts == 1
    assert sync.buffered == 1
    # A snapshot from before the loss cannot be bridged any more: fetch again.
    assert sync.on_snapshot(snapshot(103)) is SyncStep.STALE_SNAPSHOT
    assert sync.on_snapshot(snapshot(111)) is SyncStep.SYNCED


@pytest.mark.parametrize("market", ["spot", "futures"])
def test_duplicates_while_buffering_are_ignored(market: str) -> None:
    sync = BookSync(market, "BTCUSDT")
    make = event_maker(market)
    sync.on_event(make(101, 105))
    assert sync.on_event(make(101, 105)) is SyncStep.IGNORED
    assert sync.buffered == 1
    assert sync.counters.buffer_restarts == 0


def test_a_full_buffer_drops_the_oldest_and_counts_it() -> None:
    sync = BookSync("spot", "BTCUSDT", max_buffer=3)
    for update_id in range(101, 106):
        sync.on_event(spot_event(update_id, update_id, b=[["10", str(update_id)]]))
    assert sync.buffered == 3
    assert sync.counters.dropped == 2
    # The snapshot the first event asked for is now older than the buffer: fetch again.
    assert sync.on_snapshot(snapshot(100)) is SyncStep.STALE_SNAPSHOT
    assert sync.on_snapshot(snapshot(102)) is SyncStep.SYNCED
    assert sync.book.top(1)[0] == [("10", "105")]


def test_max_buffer_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_buffer"):
        BookSync("spot", "BTCUSDT", max_buffer=0)


@pytest.mark.parametrize(
    "event",
    [
        {"U": 101, "b": [], "a": []},
        {"U": "101", "u": 102, "b": [], "a": []},
        {"U": 103, "u": 102, "b": [], "a": []},
        {"U": 101, "u": 102, "b": [["10"]], "a": []},
        {"U": 101, "u": 102, "b": [], "a": None},
    ],
)
def test_a_malformed_event_changes_nothing_and_its_loss_shows_as_a_gap(
    event: dict[str, Any],
) -> None:
    sync = spot_synced_at(100)
    assert sync.on_event(event) is SyncStep.MALFORMED
    assert sync.synced
    assert sync.counters.malformed == 1
    assert sync.on_event(spot_event(103, 104)) is SyncStep.GAP


def test_a_malformed_snapshot_changes_nothing() -> None:
    sync = BookSync("spot", "BTCUSDT")
    sync.on_event(spot_event(101, 105))
    assert sync.on_snapshot({"lastUpdateId": 103, "bids": "x", "asks": []}) is SyncStep.MALFORMED
    assert sync.needs_snapshot
    assert sync.buffered == 1
    assert sync.on_snapshot(snapshot(103)) is SyncStep.SYNCED


def test_a_snapshot_while_synced_is_ignored() -> None:
    sync = spot_synced_at(100)
    assert sync.on_snapshot(snapshot(500)) is SyncStep.IGNORED
    assert sync.last_update_id == 101


def test_a_snapshot_before_any_event_is_loaded_and_checked_by_the_next_event() -> None:
    sync = BookSync("spot", "BTCUSDT")
    assert sync.on_snapshot(snapshot(100)) is SyncStep.SYNCED
    assert sync.on_event(spot_event(101, 101)) is SyncStep.APPLIED
    assert sync.on_event(spot_event(103, 103)) is SyncStep.GAP


def test_the_book_object_stays_the_same_across_resyncs() -> None:
    sync = spot_synced_at(100)
    book = sync.book
    sync.on_event(spot_event(150, 151))
    sync.on_snapshot(snapshot(150))
    assert sync.book is book
    assert book.last_update_id == 151
