"""The depth and bookTicker streams: payload shapes, the spot ``U``/``u`` and futures ``pu``
chains over many polls, a client's book kept from the diff events equal to the model's
snapshot, coalescing after a jump, and nothing older than a feed's start.

The book here is a small stand-in implementing the ``book_source.OrderBook`` contract, so
these tests pin the feeds' own rules; ``test_feeds_open`` runs them on the real book.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from petrosa.exchange.binance.streams import parse_stream
from petrosa.exchange.simulator.feeds.book_source import OrderBook
from petrosa.exchange.simulator.feeds.book_ticker import BookTickerFeed
from petrosa.exchange.simulator.feeds.depth import (
    MAX_DIFF_SPAN_STEPS,
    DiffDepthFeed,
    PartialDepthFeed,
)
from tests.unit.exchange.simulator.conftest import NOW_MS
from tests.unit.exchange.simulator.feeds_support import decode

Pairs = list[tuple[str, str]]
STEP_MS = 100


@dataclass(frozen=True)
class Snapshot:
    last_update_id: int
    bids: Pairs
    asks: Pairs


@dataclass(frozen=True)
class Changes:
    first_update_id: int
    last_update_id: int
    previous_update_id: int
    bids: Pairs
    asks: Pairs


@dataclass(frozen=True)
class Quote:
    update_id: int
    bid_price: str
    bid_qty: str
    ask_price: str
    ask_qty: str


class StandInBook:
    """Ten levels a side around 100; at each step a few quantities change (some to zero,
    i.e. the level leaves), and only every third step moves the best quote."""

    levels = 10

    def step_at(self, now_ms: int) -> int:
        return now_ms // STEP_MS

    def update_id(self, step: int) -> int:
        return 5_000 + 3 * step

    def _side(self, step: int, sign: int) -> dict[int, int]:
        side = {}
        for depth in range(1, self.levels + 1):
            qty = (step // (depth if depth > 1 else 3) * 7 + depth * 13) % 9
            if qty:
                side[10_000 + sign * depth] = qty
        return side

    def _pairs(self, side: dict[int, int], *, descending: bool) -> Pairs:
        prices = sorted(side, reverse=descending)
        return [(f"{p / 100:.2f}", f"{side[p]}.000") for p in prices]

    def snapshot(self, step: int, limit: int | None = None) -> Snapshot:
        bids = self._pairs(self._side(step, -1), descending=True)[:limit]
        asks = self._pairs(self._side(step, +1), descending=False)[:limit]
        return Snapshot(self.update_id(step), bids, asks)

    def changes(self, after_step: int, through_step: int) -> Changes:
        assert through_step > after_step
        sides = []
        for sign in (-1, +1):
            touched: dict[int, int] = {}
            for step in range(after_step, through_step):
                before, after = self._side(step, sign), self._side(step + 1, sign)
                for price in before.keys() | after.keys():
                    if before.get(price) != after.get(price):
                        touched[price] = 0
            now = self._side(through_step, sign)
            sides.append([(f"{p / 100:.2f}", f"{now.get(p, 0)}.000") for p in sorted(touched)])
        first, last = self.update_id(after_step) + 1, self.update_id(through_step)
        return Changes(first, last, first - 1, sides[0], sides[1])

    def best(self, step: int) -> Quote:
        snap = self.snapshot(step, 1)
        return Quote(self.update_id(step), *snap.bids[0], *snap.asks[0])


def apply(book: dict[str, dict[str, str]], bids: Any, asks: Any) -> None:
    """Binance's rule: absolute quantities, zero removes the level."""
    for side, levels in (("b", bids), ("a", asks)):
        for price, qty in levels:
            if float(qty) == 0:
                book[side].pop(price, None)
            else:
                book[side][price] = qty


def as_book(snapshot: Any) -> dict[str, dict[str, str]]:
    return {"b": dict(snapshot.bids), "a": dict(snapshot.asks)}


def diff_events(book: OrderBook, name: str, market: str, polls: list[int]) -> list[Any]:
    feed = DiffDepthFeed(book, parse_stream(name, market), NOW_MS)
    return [event for at in polls for event in decode(feed.poll(at))]


@pytest.mark.parametrize(
    ("name", "cadence"), [("btcusdt@depth", 1_000), ("btcusdt@depth@100ms", 100)]
)
def test_spot_diff_depth_chains_and_rebuilds_the_book(name: str, cadence: int) -> None:
    book = StandInBook()
    polls = [NOW_MS + 37 * i for i in range(1, 400)]
    events = diff_events(book, name, "spot", polls)
    assert len(events) > 10
    local = as_book(book.snapshot(book.step_at(NOW_MS)))
    previous_u = book.update_id(book.step_at(NOW_MS))
    for event in events:
        assert list(event) == ["e", "E", "s", "U", "u", "b", "a"]
        assert (event["e"], event["s"]) == ("depthUpdate", "BTCUSDT")
        assert event["E"] % cadence == 0
        assert event["U"] == previous_u + 1
        previous_u = event["u"]
        apply(local, event["b"], event["a"])
    assert events[0]["E"] > NOW_MS
    assert local == as_book(book.snapshot(book.step_at(events[-1]["E"])))
    assert events[-1]["E"] > polls[-1] - cadence


@pytest.mark.parametrize(
    ("name", "cadence"),
    [("btcusdt@depth", 250), ("btcusdt@depth@500ms", 500), ("btcusdt@depth@100ms", 100)],
)
def test_futures_diff_depth_chains_pu(name: str, cadence: int) -> None:
    book = StandInBook()
    polls = [NOW_MS + 61 * i for i in range(1, 300)]
    events = diff_events(book, name, "futures", polls)
    local = as_book(book.snapshot(book.step_at(NOW_MS)))
    previous_u = book.update_id(book.step_at(NOW_MS))
    for event in events:
        assert list(event) == ["e", "E", "T", "s", "U", "u", "pu", "b", "a"]
        assert event["E"] % cadence == 0
        assert event["T"] <= event["E"]
        assert event["pu"] == previous_u
        assert event["U"] <= event["u"]
        previous_u = event["u"]
        apply(local, event["b"], event["a"])
    assert local == as_book(book.snapshot(book.step_at(events[-1]["E"])))


def test_a_jump_gives_one_diff_event_over_every_step() -> None:
    book = StandInBook()
    later = NOW_MS + 12_345
    events = diff_events(book, "btcusdt@depth@100ms", "spot", [NOW_MS + 150, later, later])
    assert len(events) == 2
    jumped = events[-1]
    assert jumped["E"] == later - later % 100
    assert jumped["U"] == events[0]["u"] + 1
    assert jumped["u"] == book.update_id(book.step_at(later))


def test_a_jump_longer_than_a_minute_is_a_gap_in_the_diff_stream() -> None:
    book = StandInBook()
    later = NOW_MS + 150 + (MAX_DIFF_SPAN_STEPS + 5) * STEP_MS
    events = diff_events(book, "btcusdt@depth@100ms", "spot", [NOW_MS + 150, later])
    assert len(events) == 2
    jumped = events[-1]
    step = book.step_at(later)
    assert jumped["U"] == book.update_id(step - 1) + 1 > events[0]["u"] + 1  # a gap
    assert jumped["u"] == book.update_id(step)


def test_partial_depth_payloads() -> None:
    book = StandInBook()
    spot = PartialDepthFeed(book, parse_stream("btcusdt@depth5", "spot"), NOW_MS)
    futures = PartialDepthFeed(book, parse_stream("btcusdt@depth10@100ms", "futures"), NOW_MS)
    assert spot.poll(NOW_MS) == []
    later = NOW_MS + 3_500
    (top5,) = decode(spot.poll(later))
    snap = book.snapshot(book.step_at(later - later % 1_000), 5)
    assert top5 == {
        "lastUpdateId": snap.last_update_id,
        "bids": [list(level) for level in snap.bids],
        "asks": [list(level) for level in snap.asks],
    }
    assert len(top5["bids"]) <= 5
    first = decode(futures.poll(NOW_MS + 100))
    (top10,) = decode(futures.poll(later))  # a jump: the latest boundary only
    assert list(top10) == ["e", "E", "T", "s", "U", "u", "pu", "b", "a"]
    assert top10["E"] == later - later % 100
    assert top10["pu"] == first[0]["u"]
    assert top10["u"] == book.update_id(book.step_at(later))
    snap10 = book.snapshot(book.step_at(later), 10)
    assert top10["b"] == [list(level) for level in snap10.bids]
    assert top10["a"] == [list(level) for level in snap10.asks]


@pytest.mark.parametrize("market", ["spot", "futures"])
def test_book_ticker_on_each_change_of_the_best_quote(market: str) -> None:
    book = StandInBook()
    feed = BookTickerFeed(book, parse_stream("btcusdt@bookTicker", market), NOW_MS)
    events = [e for i in range(1, 60) for e in decode(feed.poll(NOW_MS + 77 * i))]
    start_step = book.step_at(NOW_MS)

    def prices(step: int) -> tuple[str, ...]:
        quote = book.best(step)
        return quote.bid_price, quote.bid_qty, quote.ask_price, quote.ask_qty

    last_step = book.step_at(NOW_MS + 77 * 59)
    expected_steps = [s for s in range(start_step + 1, last_step + 1) if prices(s) != prices(s - 1)]
    assert [e["u"] for e in events] == [book.update_id(s) for s in expected_steps]
    assert len(events) > 5
    for event, step in zip(events, expected_steps, strict=True):
        quote = book.best(step)
        tail = {
            "s": "BTCUSDT",
            "b": quote.bid_price,
            "B": quote.bid_qty,
            "a": quote.ask_price,
            "A": quote.ask_qty,
        }
        if market == "spot":
            assert event == {"u": quote.update_id, **tail}
        else:
            at = step * STEP_MS
            assert event == {"e": "bookTicker", "u": quote.update_id, "E": at, "T": at, **tail}
            assert list(event) == ["e", "u", "E", "T", "s", "b", "B", "a", "A"]
