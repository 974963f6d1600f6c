"""Funding rates: every 8 h at 00:00/08:00/16:00 UTC, mark price = the price then."""

from __future__ import annotations

import numpy as np

from petrosa.exchange.simulator import funding
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.market import Level
from tests.unit.exchange.simulator.conftest import LISTING_MS, NOW_MS, MarketFactory

EIGHT_HOURS_MS = 8 * 3_600_000


def test_times_are_every_eight_hours_from_midnight() -> None:
    events = funding.select(LISTING_MS, start=None, end=None, limit=100, now=NOW_MS)
    times = np.array(events) * EIGHT_HOURS_MS
    assert len(times) == 100
    assert set(((times // 3_600_000) % 24).tolist()) == {0, 8, 16}
    assert int(times[-1]) <= NOW_MS < int(times[-1]) + EIGHT_HOURS_MS


def test_start_end_and_limit() -> None:
    start = NOW_MS - 10 * EIGHT_HOURS_MS
    chosen = funding.select(LISTING_MS, start=start, end=None, limit=3, now=NOW_MS)
    assert len(chosen) == 3
    assert chosen[0] * EIGHT_HOURS_MS >= start > (chosen[0] - 1) * EIGHT_HOURS_MS
    bounded = funding.select(
        LISTING_MS, start=start, end=start + EIGHT_HOURS_MS, limit=100, now=NOW_MS
    )
    assert len(bounded) == 1
    early = funding.select(LISTING_MS, start=0, end=None, limit=2, now=NOW_MS)
    assert early[0] * EIGHT_HOURS_MS == LISTING_MS
    ended = funding.select(
        LISTING_MS, start=None, end=LISTING_MS + EIGHT_HOURS_MS, limit=9, now=NOW_MS
    )
    assert len(ended) == 2


def test_mark_price_is_the_candle_open_at_funding_time(make_market: MarketFactory) -> None:
    market = make_market("ETHUSDT", kind=MarketKind.FUTURES)
    events = funding.select(LISTING_MS, start=None, end=None, limit=30, now=NOW_MS)
    rates = funding.funding_rates(market, events)
    for time_ms, mark in zip(rates.time.tolist(), rates.mark.tolist(), strict=True):
        minute = market.nodes(Level.MINUTE, time_ms // 60_000, time_ms // 60_000 + 1)
        assert int(minute.open[0]) == mark
    assert np.all(np.abs(rates.rate) <= funding.RATE_CAP * 10**funding.RATE_DECIMALS)
    assert len(set(rates.rate.tolist())) > 1


def test_same_seed_same_rates(make_market: MarketFactory) -> None:
    events = funding.select(LISTING_MS, start=None, end=None, limit=10, now=NOW_MS)
    one = funding.funding_rates(make_market(kind=MarketKind.FUTURES), events)
    two = funding.funding_rates(make_market(kind=MarketKind.FUTURES), events)
    assert one.rate.tolist() == two.rate.tolist()
