"""The aggTrade and trade streams: every trade once, in order, equal to the REST
``/aggTrades`` rows; individual trades splitting each aggregate trade exactly."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from petrosa.exchange.simulator.feeds import MAX_EVENTS_PER_POLL
from petrosa.exchange.simulator.instruments import MarketKind
from tests.unit.exchange.simulator.conftest import NOW_MS
from tests.unit.exchange.simulator.feeds_support import (
    decode,
    feed_of,
    make_venue,
    poll_every,
    rest_agg_trades,
)

WINDOW_MS = 90_000
AGG_KEYS = ["e", "E", "s", "a", "p", "q", "f", "l", "T", "m"]


@pytest.mark.parametrize("market", ["spot", "futures"])
def test_agg_trades_equal_the_rest_rows(market: str) -> None:
    venue, clock = make_venue()
    feed = feed_of(venue, "ethusdt@aggTrade", market, NOW_MS)
    events = poll_every(feed, clock, 333, NOW_MS + WINDOW_MS)
    assert len(events) > 100
    for event in events:
        assert list(event) == AGG_KEYS + (["M"] if market == "spot" else [])
        assert (event["e"], event["s"], event["E"]) == ("aggTrade", "ETHUSDT", event["T"])
        assert NOW_MS < event["T"] <= NOW_MS + WINDOW_MS
    rows = rest_agg_trades(venue, market, "ETHUSDT", events[0]["a"])
    rows = [r for r in rows if r["T"] <= NOW_MS + WINDOW_MS]
    assert [{k: v for k, v in e.items() if k not in "eEs"} for e in events] == rows
    earlier = rest_agg_trades(venue, market, "ETHUSDT", events[0]["a"] - 1)[0]
    assert earlier["T"] <= NOW_MS  # nothing after the start was left out


def test_a_jump_is_paced_and_loses_nothing() -> None:
    venue, clock = make_venue()
    feed = feed_of(venue, "btcusdt@aggTrade", "futures", NOW_MS)
    clock.advance(3_600_000)
    batches = [decode(feed.poll(clock.now_ms()))]
    while batches[-1] and len(batches) < 100:
        batches.append(decode(feed.poll(clock.now_ms())))
    assert all(len(batch) == MAX_EVENTS_PER_POLL for batch in batches[:-2])
    assert 0 < len(batches[-2]) <= MAX_EVENTS_PER_POLL
    assert batches[-1] == []
    ids = [e["a"] for batch in batches for e in batch]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    newest = rest_agg_trades(venue, "futures", "BTCUSDT", ids[-1])
    assert newest == [{k: v for k, v in batches[-2][-1].items() if k not in "eEs"}]


def test_polling_pattern_does_not_change_the_stream() -> None:
    venue, clock = make_venue()
    often = feed_of(venue, "btcusdt@trade", "spot", NOW_MS)
    seldom = feed_of(venue, "btcusdt@trade", "spot", NOW_MS)
    fine = poll_every(often, clock, 50, NOW_MS + 20_000)
    assert decode(seldom.poll(clock.now_ms())) == fine


def test_trades_split_each_aggregate_trade() -> None:
    venue, clock = make_venue()
    trades_feed = feed_of(venue, "btcusdt@trade", "spot", NOW_MS)
    aggs_feed = feed_of(venue, "btcusdt@aggTrade", "spot", NOW_MS)
    trades = poll_every(trades_feed, clock, 400, NOW_MS + WINDOW_MS)
    clock.set(NOW_MS)
    aggs = poll_every(aggs_feed, clock, 400, NOW_MS + WINDOW_MS)
    assert trades
    assert all(list(t) == ["e", "E", "s", "t", "p", "q", "T", "m", "M"] for t in trades)
    assert all(
        (t["e"], t["s"], t["M"], t["E"]) == ("trade", "BTCUSDT", True, t["T"]) for t in trades
    )
    ids = [t["t"] for t in trades]
    assert ids == list(range(aggs[0]["f"], aggs[-1]["l"] + 1))
    by_id = {t["t"]: t for t in trades}
    lot = Decimal(1).scaleb(-venue.market(MarketKind.SPOT, "BTCUSDT").contract.qty_decimals)
    for agg in aggs:
        members: list[dict[str, Any]] = [by_id[i] for i in range(agg["f"], agg["l"] + 1)]
        assert {(m["p"], m["T"], m["m"]) for m in members} == {(agg["p"], agg["T"], agg["m"])}
        assert all(Decimal(m["q"]) >= lot for m in members)
        assert sum(Decimal(m["q"]) for m in members) == Decimal(agg["q"])
