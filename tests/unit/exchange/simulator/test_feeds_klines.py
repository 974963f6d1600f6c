"""The kline stream: Binance's payload, closed klines equal to the REST klines, the open
kline equal to the REST kline at its event time, cadence, a jumped clock, a late start."""

from __future__ import annotations

import pytest

from petrosa.exchange.simulator.feeds import MAX_EVENTS_PER_POLL
from tests.unit.exchange.simulator.conftest import NOW_MS
from tests.unit.exchange.simulator.feeds_support import (
    decode,
    feed_of,
    kline_as_row,
    make_venue,
    poll_every,
    rest_kline,
)

MINUTE = 60_000
K_KEYS = ["t", "T", "s", "i", "f", "L", "o", "c", "h", "l", "v", "n", "x", "q", "V", "Q", "B"]


@pytest.mark.parametrize(("market", "cadence"), [("spot", 2_000), ("futures", 250)])
def test_klines_over_three_minutes(market: str, cadence: int) -> None:
    venue, clock = make_venue()
    feed = feed_of(venue, "btcusdt@kline_1m", market, NOW_MS)
    events = poll_every(feed, clock, min(700, cadence), NOW_MS + 3 * MINUTE)
    assert [e["E"] for e in events] == sorted(e["E"] for e in events)
    assert all(NOW_MS < e["E"] <= clock.now_ms() for e in events)
    for event in events:
        assert list(event) == ["e", "E", "s", "k"]
        assert (event["e"], event["s"]) == ("kline", "BTCUSDT")
        k = event["k"]
        assert list(k) == K_KEYS
        assert (k["s"], k["i"], k["B"]) == ("BTCUSDT", "1m", "0")
        assert all(isinstance(k[f], str) for f in "ochlvqVQ")
        assert all(isinstance(k[f], int) for f in "tTfLn")
        assert k["t"] <= event["E"] <= k["T"] + 1
    closed = [e for e in events if e["k"]["x"]]
    assert [e["k"]["t"] for e in closed] == [
        (NOW_MS // MINUTE + i) * MINUTE for i in range(3)
    ]  # each kline closes once, at the next open
    for event in closed:
        k = event["k"]
        assert event["E"] == k["T"] + 1
        assert kline_as_row(k) == rest_kline(venue, market, "BTCUSDT", "1m", k["t"])
        assert k["L"] - k["f"] + 1 == k["n"]
    still_open = [e for e in events if not e["k"]["x"]]
    assert all(e["E"] % cadence == 0 for e in still_open)
    assert len(still_open) == (clock.now_ms() // cadence) - (NOW_MS // cadence)


def test_open_kline_is_the_rest_kline_at_its_event_time() -> None:
    venue, clock = make_venue()
    feed = feed_of(venue, "ethusdt@kline_5m", "futures", NOW_MS)
    for step in (250, 4_000, 61_000):
        clock.advance(step)
        event = decode(feed.poll(clock.now_ms()))[-1]
        clock.set(event["E"])
        k = event["k"]
        assert k["x"] is False
        assert kline_as_row(k) == rest_kline(venue, "futures", "ETHUSDT", "5m", k["t"])


def test_a_jump_gives_every_closed_kline_then_the_current_one() -> None:
    venue, clock = make_venue()
    feed = feed_of(venue, "btcusdt@kline_1m", "spot", NOW_MS)
    clock.advance(10 * MINUTE)
    events = decode(feed.poll(clock.now_ms()))
    assert [e["k"]["x"] for e in events] == [True] * 10 + [False]
    assert events[-1]["E"] == clock.now_ms() - clock.now_ms() % 2_000
    for event in events[:-1]:
        assert kline_as_row(event["k"]) == rest_kline(
            venue, "spot", "BTCUSDT", "1m", event["k"]["t"]
        )
    assert feed.poll(clock.now_ms()) == []


def test_a_very_long_jump_is_caught_up_over_several_polls() -> None:
    venue, clock = make_venue()
    feed = feed_of(venue, "btcusdt@kline_1m", "futures", NOW_MS)
    clock.advance((MAX_EVENTS_PER_POLL + 5) * MINUTE)
    first = decode(feed.poll(clock.now_ms()))
    second = decode(feed.poll(clock.now_ms()))
    assert len(first) == MAX_EVENTS_PER_POLL
    assert all(e["k"]["x"] for e in first)
    assert [e["k"]["x"] for e in second] == [True] * 5 + [False]
    assert second[0]["k"]["t"] == first[-1]["k"]["t"] + MINUTE


def test_a_new_feed_starts_now() -> None:
    venue, clock = make_venue()
    start = NOW_MS + 30 * MINUTE
    feed = feed_of(venue, "btcusdt@kline_1m", "spot", start)
    assert feed.poll(start) == []
    clock.set(start + 2_500)
    events = decode(feed.poll(clock.now_ms()))
    assert [e["E"] for e in events] == [start - start % 2_000 + 2_000]
