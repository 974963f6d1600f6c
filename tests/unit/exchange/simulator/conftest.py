"""Fixtures for the exchange simulator's unit tests: markets at a fixed listing and "now"."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from petrosa.exchange.simulator.instruments import MarketKind, instrument_for
from petrosa.exchange.simulator.market import SyntheticMarket

LISTING_MS = 1_577_836_800_000
"""2020-01-01T00:00:00Z."""
NOW_MS = 1_748_781_296_789
"""2025-06-01T12:34:56.789Z: mid-minute, mid-hour, mid-day, mid-week, mid-month."""
SEED = 7

MarketFactory = Callable[..., SyntheticMarket]


@pytest.fixture
def make_market() -> MarketFactory:
    """``make_market(symbol="BTCUSDT", seed=SEED, kind=MarketKind.SPOT)``."""

    def make(
        symbol: str = "BTCUSDT", *, seed: int = SEED, kind: MarketKind = MarketKind.SPOT
    ) -> SyntheticMarket:
        return SyntheticMarket(instrument_for(symbol), kind, seed=seed, listing_ms=LISTING_MS)

    return make


@pytest.fixture
def btc(make_market: MarketFactory) -> SyntheticMarket:
    return make_market()
