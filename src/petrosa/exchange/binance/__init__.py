"""Binance REST client: public market data of spot and USD-M futures, under a weight budget.

::

    from petrosa.exchange.binance import BinanceClient, closed_klines_only

    async with BinanceClient("futures") as binance:  # BINANCE_FUTURES_API_URL
        async for page in binance.iter_klines("BTCUSDT", "1m", start, end):
            store(page)
        print(binance.stats.klines_per_weight)

Every request reserves its documented weight on a ``WeightBudget`` shared by all clients of
the market in the process, synchronised with Binance's ``X-MBX-USED-WEIGHT-1M``; 429 pauses
every task, 418 stops them all. Errors form one tree under ``BinanceError``; see
``petrosa.exchange.binance._errors`` for it and for which errors are retried.

Trading (USD-M futures, signed) goes through ``BinanceFuturesTrading``, which implements
``petrosa.exchange.trading.TradingExchange`` on the same core (testnet unless told
otherwise; the simulator's paper account at its URL)::

    async with BinanceFuturesTrading(key, secret, base_url="http://127.0.0.1:8100") as ex:
        order = await ex.place_market_order(
            "BTCUSDT", OrderSide.BUY, Decimal("0.002"), client_order_id="sig-1-open"
        )

Its errors are a branch of the same tree: ``petrosa.exchange.binance._trading_errors``.
"""

from petrosa.exchange.binance._budget import (
    BudgetStats,
    Reservation,
    WeightBudget,
    shared_budget,
    shared_funding_budget,
)
from petrosa.exchange.binance._candles import closed_klines_only
from petrosa.exchange.binance._client import BinanceClient
from petrosa.exchange.binance._config import (
    DEFAULT_BACKOFF_INITIAL_S,
    DEFAULT_BACKOFF_MAX_S,
    DEFAULT_BOUNDARY_MARGIN_S,
    DEFAULT_BUDGET_FRACTION,
    DEFAULT_LIMITS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_RATE_LIMIT_PAUSES,
    DEFAULT_TIMEOUT,
    RetryPolicy,
)
from petrosa.exchange.binance._errors import (
    BinanceAPIError,
    BinanceDecodingError,
    BinanceError,
    BinanceRequestError,
    BinanceServerError,
    BinanceTransportError,
    InvalidIntervalError,
    InvalidParameterError,
    InvalidSymbolError,
    IPBannedError,
    RateLimitedError,
)
from petrosa.exchange.binance._markets import (
    FUNDING_RATE_REQUESTS_PER_WINDOW,
    FUTURES_WEIGHT_LIMIT_PER_MINUTE,
    SPOT_WEIGHT_LIMIT_PER_MINUTE,
    Endpoint,
    Market,
)
from petrosa.exchange.binance._settings import BinanceSettings
from petrosa.exchange.binance._signing import API_KEY_HEADER, hmac_signature, signed_query
from petrosa.exchange.binance._stats import ClientStats
from petrosa.exchange.binance._trading import (
    PRODUCTION_URL,
    TESTNET_URL,
    BinanceFuturesTrading,
)
from petrosa.exchange.binance._trading_core import DEFAULT_RECV_WINDOW_MS
from petrosa.exchange.binance._trading_errors import (
    AlgoOrderRequiredError,
    AuthenticationError,
    DuplicateClientOrderIdError,
    InsufficientMarginError,
    InvalidApiKeyError,
    InvalidSignatureError,
    MinNotionalError,
    OrderRejectedError,
    PrecisionError,
    ReduceOnlyRejectedError,
    TimestampOutsideRecvWindowError,
    UnknownOrderError,
    WouldImmediatelyTriggerError,
)
from petrosa.exchange.binance._weights import (
    FUTURES_DEPTH_LIMITS,
    depth_weight,
    kline_page_limit,
    kline_weight,
    optimal_kline_limit,
    request_weight,
)

__all__ = [
    "API_KEY_HEADER",
    "DEFAULT_BACKOFF_INITIAL_S",
    "DEFAULT_BACKOFF_MAX_S",
    "DEFAULT_BOUNDARY_MARGIN_S",
    "DEFAULT_BUDGET_FRACTION",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_RATE_LIMIT_PAUSES",
    "DEFAULT_RECV_WINDOW_MS",
    "DEFAULT_TIMEOUT",
    "FUNDING_RATE_REQUESTS_PER_WINDOW",
    "FUTURES_DEPTH_LIMITS",
    "FUTURES_WEIGHT_LIMIT_PER_MINUTE",
    "PRODUCTION_URL",
    "SPOT_WEIGHT_LIMIT_PER_MINUTE",
    "TESTNET_URL",
    "AlgoOrderRequiredError",
    "AuthenticationError",
    "BinanceAPIError",
    "BinanceClient",
    "BinanceDecodingError",
    "BinanceError",
    "BinanceFuturesTrading",
    "BinanceRequestError",
    "BinanceServerError",
    "BinanceSettings",
    "BinanceTransportError",
    "BudgetStats",
    "ClientStats",
    "DuplicateClientOrderIdError",
    "Endpoint",
    "IPBannedError",
    "InsufficientMarginError",
    "InvalidApiKeyError",
    "InvalidIntervalError",
    "InvalidParameterError",
    "InvalidSignatureError",
    "InvalidSymbolError",
    "Market",
    "MinNotionalError",
    "OrderRejectedError",
    "PrecisionError",
    "RateLimitedError",
    "ReduceOnlyRejectedError",
    "Reservation",
    "RetryPolicy",
    "TimestampOutsideRecvWindowError",
    "UnknownOrderError",
    "WeightBudget",
    "WouldImmediatelyTriggerError",
    "closed_klines_only",
    "depth_weight",
    "hmac_signature",
    "kline_page_limit",
    "kline_weight",
    "optimal_kline_limit",
    "request_weight",
    "shared_budget",
    "shared_funding_budget",
    "signed_query",
]
