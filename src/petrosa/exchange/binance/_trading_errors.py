"""Errors of signed (trading) requests: a branch of the client's tree under
``BinanceRequestError``, also under the trading port's neutral errors.

::

    BinanceRequestError                     4xx, never retried as such
    ├── AuthenticationError                 the request's credentials were refused
    │   ├── InvalidApiKeyError              -2014 -2015 (HTTP 401): unknown or malformed key,
    │   │                                   IP not allowed, or no permission
    │   ├── InvalidSignatureError           -1022: wrong secret (or a mangled query)
    │   └── TimestampOutsideRecvWindowError -1021: clocks apart; the server clock is measured
    │                                       again and the request sent once more
    └── OrderRejectedError                  -2010 and every other -2xxx/-4xxx/-5xxx code:
        │                                   nothing was created or changed
        │                                   (also ``trading.OrderRejected``)
        ├── DuplicateClientOrderIdError     -4116: the id is taken; the adapter answers with
        │                                   the existing order instead
        ├── UnknownOrderError               -2011 -2013 (also ``trading.UnknownOrder``)
        ├── InsufficientMarginError         -2018 -2019 (also ``trading.InsufficientMargin``)
        ├── ReduceOnlyRejectedError         -2022: the order would grow or open a position
        ├── WouldImmediatelyTriggerError    -2021: the stop is already crossed
        ├── MinNotionalError                -4164
        ├── PrecisionError                  -1111 -4014 -4023: off the tick or step grid
        └── AlgoOrderRequiredError          -4120: conditional orders must go through
                                            ``/fapi/v1/algoOrder`` on this exchange
"""

from __future__ import annotations

from petrosa.exchange.binance._errors import BinanceAPIError, BinanceRequestError
from petrosa.exchange.trading import InsufficientMargin, OrderRejected, UnknownOrder


class AuthenticationError(BinanceRequestError):
    """Binance refused the request's key, signature or timestamp; nothing was done."""


class InvalidApiKeyError(AuthenticationError):
    """-2014/-2015: the API key is unknown, malformed, or not allowed (IP, permissions)."""


class InvalidSignatureError(AuthenticationError):
    """-1022: the signature does not match (wrong secret, or a different query)."""


class TimestampOutsideRecvWindowError(AuthenticationError):
    """-1021: ``timestamp`` is outside ``recvWindow`` of the server's clock."""


class OrderRejectedError(BinanceRequestError, OrderRejected):
    """Binance refused an order (or order action): nothing was created or changed."""


class DuplicateClientOrderIdError(OrderRejectedError):
    """-4116: an order with this ``newClientOrderId`` exists already."""


class UnknownOrderError(OrderRejectedError, UnknownOrder):
    """-2013 (query) / -2011 (cancel): no such order, or no longer open."""


class InsufficientMarginError(OrderRejectedError, InsufficientMargin):
    """-2019 (-2018): the account's margin cannot carry the order."""


class ReduceOnlyRejectedError(OrderRejectedError):
    """-2022: a reduce-only order would open or grow a position."""


class WouldImmediatelyTriggerError(OrderRejectedError):
    """-2021: the stop price is already crossed."""


class MinNotionalError(OrderRejectedError):
    """-4164: quantity x price is below the symbol's minimum notional."""


class PrecisionError(OrderRejectedError):
    """-1111/-4014/-4023: a quantity or price off the symbol's step or tick."""


class AlgoOrderRequiredError(OrderRejectedError):
    """-4120: this exchange takes conditional orders only on its algo-order endpoint."""


TRADING_CODE_ERRORS: dict[int, type[BinanceRequestError]] = {
    -2014: InvalidApiKeyError,
    -2015: InvalidApiKeyError,
    -1022: InvalidSignatureError,
    -1021: TimestampOutsideRecvWindowError,
    -4116: DuplicateClientOrderIdError,
    -2011: UnknownOrderError,
    -2013: UnknownOrderError,
    -2018: InsufficientMarginError,
    -2019: InsufficientMarginError,
    -2022: ReduceOnlyRejectedError,
    -2021: WouldImmediatelyTriggerError,
    -4164: MinNotionalError,
    -1111: PrecisionError,
    -4014: PrecisionError,
    -4023: PrecisionError,
    -4120: AlgoOrderRequiredError,
}
"""Error classes of signed requests, by Binance code."""
ORDER_CODES_FROM = -2000
"""Codes at or below this (-2xxx processing, -4xxx filters, -5xxx execution) refuse an order
or order action."""


def trading_error(error: BinanceAPIError, message: str) -> BinanceAPIError:
    """``error`` as the trading branch's class for its code (unchanged class otherwise),
    with ``message``."""
    cls: type[BinanceAPIError] = type(error)
    if isinstance(error, BinanceRequestError) and error.code is not None:
        cls = TRADING_CODE_ERRORS.get(error.code, cls)
        if cls is type(error) and error.code <= ORDER_CODES_FROM:
            cls = OrderRejectedError
    return cls(
        message,
        status=error.status,
        code=error.code,
        msg=error.msg,
        retry_after_s=error.retry_after_s,
        attempts=error.attempts,
    )
