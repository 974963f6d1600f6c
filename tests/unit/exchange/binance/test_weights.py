"""Request weights per endpoint and limit, and the page sizes with the most candles per weight."""

from __future__ import annotations

import pytest

from petrosa.exchange.binance import (
    Endpoint,
    Market,
    kline_page_limit,
    kline_weight,
    optimal_kline_limit,
    request_weight,
)

DOCUMENTED_FLAT_WEIGHTS = [
    (Market.SPOT, Endpoint.TIME, 1),
    (Market.SPOT, Endpoint.EXCHANGE_INFO, 20),
    (Market.SPOT, Endpoint.AGG_TRADES, 4),
    (Market.FUTURES, Endpoint.TIME, 1),
    (Market.FUTURES, Endpoint.EXCHANGE_INFO, 1),
    (Market.FUTURES, Endpoint.AGG_TRADES, 20),
    (Market.FUTURES, Endpoint.FUNDING_RATE, 0),
]

FUTURES_KLINE_WEIGHTS = [
    (1, 1),
    (99, 1),
    (100, 2),
    (499, 2),
    (500, 5),
    (1000, 5),
    (1001, 10),
    (1500, 10),
    (None, 5),  # Binance's default limit is 500
]


@pytest.mark.parametrize(("market", "endpoint", "weight"), DOCUMENTED_FLAT_WEIGHTS)
def test_flat_weights_are_the_documented_ones(
    market: Market, endpoint: Endpoint, weight: int
) -> None:
    assert request_weight(market, endpoint) == weight
    assert request_weight(market, endpoint, limit=1000) == weight


@pytest.mark.parametrize(("limit", "weight"), FUTURES_KLINE_WEIGHTS)
def test_futures_kline_weight_follows_the_limit_tiers(limit: int | None, weight: int) -> None:
    assert kline_weight("futures", limit) == weight
    assert request_weight(Market.FUTURES, Endpoint.KLINES, limit=limit) == weight


@pytest.mark.parametrize("limit", [None, 1, 500, 999, 1000])
def test_spot_kline_weight_is_two_at_any_limit(limit: int | None) -> None:
    assert kline_weight("spot", limit) == 2


@pytest.mark.parametrize(("market", "limit"), [("spot", 0), ("spot", 1001), ("futures", 1501)])
def test_kline_limit_out_of_range_is_refused(market: str, limit: int) -> None:
    with pytest.raises(ValueError, match="kline limit"):
        kline_weight(market, limit)


def test_spot_has_no_funding_rates() -> None:
    with pytest.raises(ValueError, match="spot"):
        request_weight(Market.SPOT, Endpoint.FUNDING_RATE)


@pytest.mark.parametrize(("market", "best"), [("spot", 1000), ("futures", 499)])
def test_optimal_page_size(market: str, best: int) -> None:
    assert optimal_kline_limit(market) == best


@pytest.mark.parametrize("market", ["spot", "futures"])
def test_optimal_page_size_beats_every_other_limit(market: str) -> None:
    """Exhaustive check: no limit gives more candles per weight (ties go to the larger)."""
    maximum = 1000 if market == "spot" else 1500
    best = max(range(1, maximum + 1), key=lambda n: (n / kline_weight(market, n), n))
    assert optimal_kline_limit(market) == best


def test_futures_page_sizes_in_candles_per_minute_of_budget() -> None:
    """BINANCE.md: 499-candle pages give ~599k candles per minute of the 2,400 limit."""
    pages_per_minute = 2_400 // kline_weight("futures", 499)
    assert pages_per_minute * 499 == 598_800
    assert 2_400 // kline_weight("futures", 1000) * 1000 == 480_000
    assert 2_400 // kline_weight("futures", 1500) * 1500 == 360_000


@pytest.mark.parametrize(
    ("market", "remaining", "limit"),
    [
        ("futures", None, 499),
        ("futures", 10_000, 499),
        ("futures", 499, 499),
        ("futures", 60, 60),
        ("futures", 0, 1),
        ("spot", None, 1000),
        ("spot", 1_440, 1000),
        ("spot", 440, 440),
    ],
)
def test_page_limit_shrinks_for_the_last_page(
    market: str, remaining: int | None, limit: int
) -> None:
    assert kline_page_limit(market, remaining) == limit


def test_a_short_last_futures_page_costs_less() -> None:
    assert kline_weight("futures", kline_page_limit("futures", 60)) == 1
