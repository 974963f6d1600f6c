"""Which failures mean "try again later" rather than "this request (or symbol) is wrong".

One classification for the HTTP API (503 with ``Retry-After``), the NATS ingress (redeliver)
and the leader's duties (skip the round, do not blame a symbol)::

    TryAgain(shared=True)    a dependency every decision needs is down: the Data Manager
                             (no connection, timeout, 502/503/504, 429, circuit open), the
                             coordination store, or the exchange (no answer, 5xx, 429, 418)
    TryAgain(shared=False)   contention on one symbol or signal: its lock stayed busy, the
                             lease or the signal's fence went to another replica
    None                     anything else: a refusal or a bug, reported as such
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from petrosa.client import (
    CircuitOpenError,
    DataManagerError,
    RateLimitedError,
    ServiceUnavailableError,
    TransportError,
)
from petrosa.coordination import LeaseLost, LockNotAcquired, StoreUnavailable
from petrosa.exchange.binance import (
    BinanceServerError,
    BinanceTransportError,
    IPBannedError,
)
from petrosa.exchange.binance import RateLimitedError as ExchangeRateLimited
from petrosa.tradeengine.ledger import FenceLost

DEFAULT_RETRY_AFTER_S = 1.0
"""``Retry-After`` when the failing dependency did not say when to come back."""


@dataclass(frozen=True)
class TryAgain:
    """A failure that says nothing about the request itself."""

    cause: str
    retry_after_s: float
    shared: bool
    """True: a dependency is down for every symbol. False: one symbol or signal is busy."""

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, at least one (``Retry-After`` takes no fractions)."""
        return str(max(1, math.ceil(self.retry_after_s)))


def try_again(error: BaseException) -> TryAgain | None:
    """What ``error`` says about trying again, or None when it is not that kind of failure."""
    if isinstance(error, DataManagerError):
        return _data_manager(error)
    if isinstance(error, StoreUnavailable):
        return TryAgain("coordination store unavailable", DEFAULT_RETRY_AFTER_S, shared=True)
    if isinstance(error, LockNotAcquired | LeaseLost | FenceLost):
        return TryAgain(f"busy: {error}", DEFAULT_RETRY_AFTER_S, shared=False)
    if isinstance(error, BinanceTransportError):
        return TryAgain("exchange unreachable", DEFAULT_RETRY_AFTER_S, shared=True)
    if isinstance(error, BinanceServerError | ExchangeRateLimited | IPBannedError):
        return TryAgain(
            f"exchange unavailable ({error.status})", _after(error.retry_after_s), shared=True
        )
    return None


def _data_manager(error: DataManagerError) -> TryAgain | None:
    if isinstance(error, CircuitOpenError):
        return TryAgain(
            "data manager unavailable (circuit open)", _after(error.retry_after_s), shared=True
        )
    if isinstance(error, TransportError):
        return TryAgain("data manager unreachable", DEFAULT_RETRY_AFTER_S, shared=True)
    if isinstance(error, ServiceUnavailableError | RateLimitedError):
        return TryAgain(
            f"data manager unavailable ({error.status_code})",
            _after(error.retry_after_s),
            shared=True,
        )
    return None


def _after(seconds: float | None) -> float:
    return DEFAULT_RETRY_AFTER_S if seconds is None or seconds <= 0 else seconds
