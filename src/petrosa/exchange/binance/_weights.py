"""Request weights as Binance documents them, and the page sizes that get the most per weight.

=============================  ==========================  =====================================
endpoint                       spot (``/api/v3``)          USD-M futures (``/fapi/v1``)
=============================  ==========================  =====================================
``time``                       1                           1
``exchangeInfo``               20                          1
``klines``                     2 (any limit, max 1000)     limit [1,100) 1, [100,500) 2,
                                                           [500,1000] 5, (1000,1500] 10
``aggTrades``                  4 (any limit, max 1000)     20 (any limit, max 1000)
``fundingRate``                —                           0 of the minute's weight; its own
                                                           limit of 500 requests / 5 min / IP
``depth``                      limit [1,100] 5,            limit 5, 10, 20, 50: 2; 100: 5;
                               [101,500] 25, [501,1000]    500: 10; 1000: 20 (no other limit
                               50, [1001,5000] 250         is valid)
=============================  ==========================  =====================================

A request without ``limit`` is weighed at the endpoint's default limit (klines: 500; depth:
spot 100, futures 500).
"""

from __future__ import annotations

from dataclasses import dataclass

from petrosa.exchange.binance._markets import Endpoint, Market, market_spec


@dataclass(frozen=True)
class WeightTier:
    """Requests with ``limit`` up to ``max_limit`` (inclusive) weigh ``weight``."""

    max_limit: int
    weight: int


KLINE_WEIGHT_TIERS: dict[Market, tuple[WeightTier, ...]] = {
    Market.SPOT: (WeightTier(1_000, 2),),
    Market.FUTURES: (
        WeightTier(99, 1),
        WeightTier(499, 2),
        WeightTier(1_000, 5),
        WeightTier(1_500, 10),
    ),
}
"""Kline weight by ``limit``, tiers in ascending order; the last tier ends at the maximum."""

DEPTH_WEIGHT_TIERS: dict[Market, tuple[WeightTier, ...]] = {
    Market.SPOT: (
        WeightTier(100, 5),
        WeightTier(500, 25),
        WeightTier(1_000, 50),
        WeightTier(5_000, 250),
    ),
    Market.FUTURES: (
        WeightTier(50, 2),
        WeightTier(100, 5),
        WeightTier(500, 10),
        WeightTier(1_000, 20),
    ),
}
"""Order-book (``/depth``) weight by ``limit``, tiers ascending; the last ends at the maximum."""

FUTURES_DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1_000)
"""The only ``limit`` values ``/fapi/v1/depth`` accepts (spot takes any of 1-5000)."""

FLAT_WEIGHTS: dict[Market, dict[Endpoint, int]] = {
    Market.SPOT: {
        Endpoint.TIME: 1,
        Endpoint.EXCHANGE_INFO: 20,
        Endpoint.AGG_TRADES: 4,
    },
    Market.FUTURES: {
        Endpoint.TIME: 1,
        Endpoint.EXCHANGE_INFO: 1,
        Endpoint.AGG_TRADES: 20,
        Endpoint.FUNDING_RATE: 0,
    },
}
"""Weights that do not depend on parameters."""


def kline_weight(market: Market | str, limit: int | None = None) -> int:
    """The weight of one klines request with ``limit`` (None: the default, 500)."""
    spec = market_spec(market)
    rows = spec.default_kline_limit if limit is None else limit
    if not 1 <= rows <= spec.max_kline_limit:
        raise ValueError(f"kline limit must be 1-{spec.max_kline_limit}, got {rows}")
    for tier in KLINE_WEIGHT_TIERS[Market(market)]:
        if rows <= tier.max_limit:
            return tier.weight
    raise AssertionError("the last tier ends at the market's maximum limit")


def depth_weight(market: Market | str, limit: int | None = None) -> int:
    """The weight of one order-book request with ``limit`` (None: the market's default)."""
    spec = market_spec(market)
    levels = spec.default_depth_limit if limit is None else limit
    tiers = DEPTH_WEIGHT_TIERS[Market(market)]
    if Market(market) is Market.FUTURES:
        if levels not in FUTURES_DEPTH_LIMITS:
            raise ValueError(
                f"futures depth limit must be one of {FUTURES_DEPTH_LIMITS}, got {levels}"
            )
    elif not 1 <= levels <= tiers[-1].max_limit:
        raise ValueError(f"spot depth limit must be 1-{tiers[-1].max_limit}, got {levels}")
    return next(tier.weight for tier in tiers if levels <= tier.max_limit)


def request_weight(market: Market | str, endpoint: Endpoint, *, limit: int | None = None) -> int:
    """The request weight Binance charges for one request to ``endpoint`` on ``market``."""
    if endpoint is Endpoint.KLINES:
        return kline_weight(market, limit)
    if endpoint is Endpoint.DEPTH:
        return depth_weight(market, limit)
    weights = FLAT_WEIGHTS[Market(market)]
    if endpoint not in weights:
        raise ValueError(f"{endpoint.value} does not exist on the {Market(market).value} market")
    return weights[endpoint]


def optimal_kline_limit(market: Market | str) -> int:
    """The page size that returns the most candles per unit of weight (largest on a tie).

    Only a tier's largest limit can be optimal (within a tier the weight is constant), so
    the tiers' upper ends are the candidates: spot 1000 (weight 2, 500 candles per weight);
    futures 499 (weight 2, ~250 per weight) beats 99 (99), 1000 (200) and 1500 (150).
    """
    tiers = KLINE_WEIGHT_TIERS[Market(market)]
    best = max(tiers, key=lambda tier: (tier.max_limit / tier.weight, tier.max_limit))
    return best.max_limit


def kline_page_limit(market: Market | str, remaining: int | None) -> int:
    """The limit for the next page when ``remaining`` candles are left (None: unknown).

    Weight never falls as the limit grows, so asking for no more than what is left is never
    dearer: the last futures page of 60 candles costs 1, not the 2 of a full page.
    """
    optimal = optimal_kline_limit(market)
    if remaining is None:
        return optimal
    return max(1, min(optimal, remaining))
