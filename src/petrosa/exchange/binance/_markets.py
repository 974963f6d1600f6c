"""The two Binance markets this client speaks to, and the facts that differ between them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# One enum for the market everywhere: the exchange client, the wire contracts, the storage.
from petrosa.contracts.market import Market as Market


class Endpoint(StrEnum):
    """The market-data endpoints the client calls, named independently of the market."""

    TIME = "time"
    EXCHANGE_INFO = "exchangeInfo"
    KLINES = "klines"
    AGG_TRADES = "aggTrades"
    FUNDING_RATE = "fundingRate"
    DEPTH = "depth"


SPOT_WEIGHT_LIMIT_PER_MINUTE = 6_000
FUTURES_WEIGHT_LIMIT_PER_MINUTE = 2_400
FUNDING_RATE_REQUESTS_PER_WINDOW = 500
"""``/fapi/v1/fundingRate`` has its own limit: 500 requests per 5 minutes per IP."""
FUNDING_RATE_WINDOW_S = 300.0


@dataclass(frozen=True)
class MarketSpec:
    """What differs per market: URL prefix, weight limit, page sizes."""

    prefix: str
    weight_limit: int
    """Request weight per minute per IP (``REQUEST_WEIGHT`` in exchangeInfo)."""
    max_kline_limit: int
    default_kline_limit: int
    max_agg_trades_limit: int
    max_funding_limit: int | None
    """None: the market has no funding rates (spot)."""
    default_depth_limit: int
    """The order-book depth Binance returns without ``limit``."""

    def path(self, endpoint: Endpoint) -> str:
        """The URL path of ``endpoint`` on this market, e.g. ``/fapi/v1/klines``."""
        return f"{self.prefix}/{endpoint.value}"


MARKETS: dict[Market, MarketSpec] = {
    Market.SPOT: MarketSpec(
        prefix="/api/v3",
        weight_limit=SPOT_WEIGHT_LIMIT_PER_MINUTE,
        max_kline_limit=1_000,
        default_kline_limit=500,
        max_agg_trades_limit=1_000,
        max_funding_limit=None,
        default_depth_limit=100,
    ),
    Market.FUTURES: MarketSpec(
        prefix="/fapi/v1",
        weight_limit=FUTURES_WEIGHT_LIMIT_PER_MINUTE,
        max_kline_limit=1_500,
        default_kline_limit=500,
        max_agg_trades_limit=1_000,
        max_funding_limit=1_000,
        default_depth_limit=500,
    ),
}


def market_spec(market: Market | str) -> MarketSpec:
    """The facts of ``market`` (``"spot"`` or ``"futures"``)."""
    return MARKETS[Market(market)]
