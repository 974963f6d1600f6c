"""``open_feed`` on the simulator's own order book (``Venue.book``): every stream type opens,
a client's book kept from the diff stream equals the REST-side snapshot, the id chains hold,
and a feed never sends anything older than its start."""

from __future__ import annotations

from typing import Any

import pytest

from petrosa.exchange.simulator.instruments import MarketKind
from tests.unit.exchange.simulator.conftest import NOW_MS
from tests.unit.exchange.simulator.feeds_support import feed_of, make_venue, poll_every
from tests.unit.exchange.simulator.test_feeds_depth import apply, as_book

pytest.importorskip(
    "petrosa.exchange.simulator.book", reason="the order book model (branch h/sim-book)"
)

EVERY_STREAM = {
    "spot": [
        "btcusdt@kline_1m",
        "btcusdt@aggTrade",
        "btcusdt@trade",
        "btcusdt@depth",
        "btcusdt@depth@100ms",
        "btcusdt@depth5",
        "btcusdt@depth20@100ms",
        "btcusdt@bookTicker",
    ],
    "futures": [
        "btcusdt@kline_1m",
        "btcusdt@aggTrade",
        "btcusdt@depth",
        "btcusdt@depth@500ms",
        "btcusdt@depth@100ms",
        "btcusdt@depth10",
        "btcusdt@depth5@100ms",
        "btcusdt@bookTicker",
        "btcusdt@markPrice",
        "btcusdt@markPrice@1s",
    ],
}


@pytest.mark.parametrize(
    ("market", "name"), [(m, n) for m, names in EVERY_STREAM.items() for n in names]
)
def test_every_stream_starts_now(market: str, name: str) -> None:
    venue, clock = make_venue()
    feed = feed_of(venue, name, market, NOW_MS)
    assert feed.poll(NOW_MS) == []
    events = poll_every(feed, clock, 250, NOW_MS + 6_000)
    assert events
    times = [event_time(e) for e in events]
    assert all(t is None or NOW_MS < t <= clock.now_ms() for t in times)


def event_time(event: dict[str, Any]) -> int | None:
    """``E`` where the payload has one (spot partial depth and bookTicker have none)."""
    return event.get("E")


@pytest.mark.parametrize(
    ("market", "name"),
    [("spot", "ethusdt@depth@100ms"), ("spot", "ethusdt@depth"), ("futures", "ethusdt@depth")],
)
def test_the_diff_stream_keeps_a_book_equal_to_the_snapshot(market: str, name: str) -> None:
    venue, clock = make_venue()
    kind = MarketKind(market)
    book = venue.book(kind, "ETHUSDT")
    feed = feed_of(venue, name, market, NOW_MS)
    events = poll_every(feed, clock, 130, NOW_MS + 20_000)
    start = book.snapshot(book.step_at(NOW_MS))
    local, previous_u = as_book(start), start.last_update_id
    for event in events:
        if market == "spot":
            assert event["U"] == previous_u + 1
        else:
            assert event["pu"] == previous_u
            assert event["pu"] < event["U"] <= event["u"]
        previous_u = event["u"]
        apply(local, event["b"], event["a"])
    assert len(events) > 15
    end = book.snapshot(book.step_at(events[-1]["E"]))
    assert end.last_update_id == previous_u
    assert local == as_book(end)


def test_a_jump_gives_one_diff_event_that_still_syncs() -> None:
    venue, clock = make_venue()
    book = venue.book(MarketKind.SPOT, "BTCUSDT")
    feed = feed_of(venue, "btcusdt@depth@100ms", "spot", NOW_MS)
    local = as_book(book.snapshot(book.step_at(NOW_MS)))
    clock.advance(30_000)
    events = poll_every(feed, clock, 30_000, clock.now_ms() + 1)
    assert len(events) == 1
    apply(local, events[0]["b"], events[0]["a"])
    assert local == as_book(book.snapshot(book.step_at(events[0]["E"])))
