"""Retry decisions as pure functions: what is retried, how long to wait, how long a ban is."""

from __future__ import annotations

import re

from petrosa.exchange.binance._config import RetryPolicy
from petrosa.exchange.binance._errors import (
    BinanceAPIError,
    BinanceError,
    BinanceServerError,
    BinanceTransportError,
    RateLimitedError,
)
from petrosa.resilience import RandomUnit, full_jitter_backoff

_BANNED_UNTIL = re.compile(r"banned until (\d{12,14})")
"""Binance's 418 message: "Way too much request weight used; IP banned until 1700000000000."."""
_MS_PER_S = 1_000.0


def backoff_delay(failures: int, policy: RetryPolicy, random: RandomUnit) -> float:
    """The policy's full-jitter backoff after ``failures`` failed attempts (1-based)."""
    return full_jitter_backoff(
        failures, initial_s=policy.backoff_initial_s, max_s=policy.backoff_max_s, random=random
    )


def retry_delay(
    error: BinanceError,
    *,
    failures: int,
    pauses: int,
    policy: RetryPolicy,
    random: RandomUnit,
) -> float | None:
    """Seconds to sleep before sending again, or None when ``error`` must be raised.

    ``failures`` counts transport errors and 5xx so far (this one included), ``pauses`` the
    429s. A 429 returns 0: the wait happens on the shared budget, which every task honours,
    rather than in each task's own sleep.
    """
    if isinstance(error, RateLimitedError):
        return 0.0 if pauses <= policy.max_rate_limit_pauses else None
    if not isinstance(error, BinanceTransportError | BinanceServerError):
        return None
    if failures >= policy.max_attempts:
        return None
    if isinstance(error, BinanceAPIError) and error.retry_after_s is not None:
        return error.retry_after_s
    return backoff_delay(failures, policy, random)


def ban_seconds(retry_after_s: float | None, msg: str | None, server_now_s: float) -> float | None:
    """How long a 418 ban lasts: ``Retry-After``, else the "banned until <ms>" in the message."""
    if retry_after_s is not None:
        return retry_after_s
    if msg is None:
        return None
    match = _BANNED_UNTIL.search(msg)
    if match is None:
        return None
    return max(0.0, int(match.group(1)) / _MS_PER_S - server_now_s)
