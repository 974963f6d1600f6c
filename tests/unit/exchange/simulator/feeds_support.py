"""Shared pieces of the feed tests: a venue on a manual clock, polling helpers and the REST
rows the streams must agree with (read through the same functions the routes call)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from petrosa.exchange.binance.streams import parse_stream
from petrosa.exchange.simulator import ManualClock, SimulatorSettings
from petrosa.exchange.simulator.feeds import Feed, open_feed
from petrosa.exchange.simulator.marketdata import agg_trade_rows, kline_rows
from petrosa.exchange.simulator.params import Params
from petrosa.exchange.simulator.venue import FUTURES, SPOT, Venue
from tests.unit.exchange.simulator.conftest import NOW_MS, SEED

SYMBOLS = ("BTCUSDT", "ETHUSDT")
KLINE_PARAMS = ("symbol", "interval", "startTime", "endTime", "limit")
AGG_TRADE_PARAMS = ("symbol", "fromId", "startTime", "endTime", "limit")


def make_venue(now_ms: int = NOW_MS) -> tuple[Venue, ManualClock]:
    clock = ManualClock(now_ms)
    return Venue(SimulatorSettings(seed=SEED, symbols=SYMBOLS), clock), clock


def feed_of(venue: Venue, name: str, market: str, now_ms: int) -> Feed:
    return open_feed(venue, parse_stream(name, market), now_ms)


def poll_every(feed: Feed, clock: ManualClock, step_ms: int, until_ms: int) -> list[Any]:
    """Advance ``clock`` by ``step_ms`` up to ``until_ms``, polling each time; all events."""
    events: list[Any] = []
    while clock.now_ms() < until_ms:
        clock.advance(min(step_ms, until_ms - clock.now_ms()))
        events += decode(feed.poll(clock.now_ms()))
    return events


def decode(payloads: Iterable[bytes]) -> list[Any]:
    return [orjson.loads(p) for p in payloads]


def rest_kline(venue: Venue, market: str, symbol: str, interval: str, open_ms: int) -> list[Any]:
    """The REST kline of ``open_ms`` at the venue's now."""
    profile = SPOT if market == "spot" else FUTURES
    query = [("symbol", symbol), ("interval", interval), ("startTime", str(open_ms))]
    rows = kline_rows(venue, profile, Params([*query, ("limit", "1")], KLINE_PARAMS))
    assert rows[0][0] == open_ms
    return rows[0]


def rest_agg_trades(venue: Venue, market: str, symbol: str, from_id: int) -> list[dict[str, Any]]:
    """REST aggregate trades from ``from_id`` (one page of 1,000) at the venue's now."""
    profile = SPOT if market == "spot" else FUTURES
    query = [("symbol", symbol), ("fromId", str(from_id)), ("limit", "1000")]
    return agg_trade_rows(venue, profile, Params(query, AGG_TRADE_PARAMS))


def kline_as_row(k: dict[str, Any]) -> list[Any]:
    """A stream kline's ``k`` in the REST row's order."""
    keys = ("t", "o", "h", "l", "c", "v", "T", "q", "n", "V", "Q", "B")
    return [k[key] for key in keys]
