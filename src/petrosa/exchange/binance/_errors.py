"""The Binance client's exceptions: every failure of a Binance call is a ``BinanceError``.

Hierarchy (``[retried]`` = retried with capped, jittered backoff; ``[paused]`` = every task
sharing the weight budget pauses, then the request is sent again)::

    BinanceError
    ├── BinanceTransportError           [retried]  no HTTP answer: connect error, timeout,
    │                                              dropped connection
    ├── BinanceDecodingError            the answer is not the JSON shape that was expected
    └── BinanceAPIError                 an error answer: ``status``, Binance ``code`` and ``msg``
        ├── RateLimitedError            429  [paused]  ``Retry-After``, else the next window
        ├── IPBannedError               418  never retried; every task sharing the budget
        │                                    fails fast, sending nothing, until the ban ends
        ├── BinanceServerError          5xx  [retried]
        └── BinanceRequestError         any other 4xx: the request is wrong, never retried
            ├── InvalidSymbolError      -1121 Invalid symbol. (also trading.SymbolNotListed)
            ├── InvalidIntervalError    -1120 Invalid interval.
            └── InvalidParameterError   -1100 -1101 -1102 -1103 -1104 -1105 -1106 -1108
                                        -1127 -1128 -1130: a parameter is missing, extra,
                                        malformed or out of range

An ``IPBannedError`` raised locally (the budget knows the IP is banned, so nothing is sent)
has ``status`` 418, ``code`` None and ``retry_after_s`` = the ban's remaining seconds.

When retries run out the **last error is re-raised** (not wrapped); ``attempts`` tells how
many requests were sent for the call.
"""

from __future__ import annotations

from typing import Any

from petrosa.exchange.trading import SymbolNotListed


class BinanceError(Exception):
    """Base class of every error raised by the Binance client."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts
        """How many requests were sent for the call that failed."""

    def __str__(self) -> str:
        if self.attempts > 1:
            return f"{self.message} (after {self.attempts} attempts)"
        return self.message


class BinanceTransportError(BinanceError):
    """The request got no HTTP answer (connect error, timeout, dropped connection)."""

    def __init__(self, message: str, *, sent: bool, attempts: int = 1) -> None:
        super().__init__(message, attempts=attempts)
        self.sent = sent
        """False when the request certainly never reached Binance (connect failure)."""


class BinanceDecodingError(BinanceError):
    """The answer is not valid JSON, or not the shape this client expects."""


class BinanceAPIError(BinanceError):
    """Binance answered with an error status, usually with ``{"code": ..., "msg": ...}``."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: int | None = None,
        msg: str | None = None,
        retry_after_s: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.status = status
        self.code = code
        """Binance's error code (e.g. -1121), or None when the body had none."""
        self.msg = msg
        """Binance's error message, or None when the body had none."""
        self.retry_after_s = retry_after_s
        """The ``Retry-After`` header in seconds, when Binance sent one."""


class RateLimitedError(BinanceAPIError):
    """429: the IP used too much request weight; raised when rate-limit pauses run out."""


class IPBannedError(BinanceAPIError):
    """418: the IP is banned for ignoring 429s. Never retried; stop and report."""

    @property
    def ban_s(self) -> float | None:
        """How long the ban lasts from when it was reported, when known."""
        return self.retry_after_s


class BinanceServerError(BinanceAPIError):
    """5xx: Binance failed; for a read the request is simply sent again."""


class BinanceRequestError(BinanceAPIError):
    """A 4xx other than 418/429: the request itself is wrong; retrying cannot help."""


class InvalidSymbolError(BinanceRequestError, SymbolNotListed):
    """-1121: the symbol does not exist on this market (also ``trading.SymbolNotListed``)."""


class InvalidIntervalError(BinanceRequestError):
    """-1120: the kline interval is not one Binance knows (or not on this market)."""


class InvalidParameterError(BinanceRequestError):
    """A parameter is missing, unexpected, malformed or out of range."""


CODE_ERRORS: dict[int, type[BinanceRequestError]] = {
    -1121: InvalidSymbolError,
    -1120: InvalidIntervalError,
    -1100: InvalidParameterError,  # illegal characters
    -1101: InvalidParameterError,  # too many parameters
    -1102: InvalidParameterError,  # mandatory parameter missing or malformed
    -1103: InvalidParameterError,  # unknown parameter
    -1104: InvalidParameterError,  # not all parameters read
    -1105: InvalidParameterError,  # parameter empty
    -1106: InvalidParameterError,  # parameter not required
    -1108: InvalidParameterError,  # parameter overflowed
    -1127: InvalidParameterError,  # lookup interval too big
    -1128: InvalidParameterError,  # invalid combination of optional parameters
    -1130: InvalidParameterError,  # invalid data for a parameter
}
"""Error classes for request errors, by Binance code."""

RATE_LIMITED_STATUS = 429
IP_BANNED_STATUS = 418
_SERVER_ERROR_STATUSES = range(500, 600)


def api_error_class(status: int, code: int | None) -> type[BinanceAPIError]:
    """The exception class for an error answer with ``status`` and Binance ``code``."""
    if status == IP_BANNED_STATUS:
        return IPBannedError
    if status == RATE_LIMITED_STATUS:
        return RateLimitedError
    if status in _SERVER_ERROR_STATUSES:
        return BinanceServerError
    if code is not None and code in CODE_ERRORS:
        return CODE_ERRORS[code]
    return BinanceRequestError


def error_fields(body: Any) -> tuple[int | None, str | None]:
    """Binance's ``code`` and ``msg`` from an error body; (None, None) for any other shape."""
    if not isinstance(body, dict):
        return None, None
    code = body.get("code")
    msg = body.get("msg")
    return (
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        msg if isinstance(msg, str) else None,
    )
