"""Retry decisions as pure functions: which errors are retried, and how long to wait."""

from __future__ import annotations

import math

from petrosa.client._config import RandomUnit, RetryPolicy
from petrosa.client._exceptions import (
    ConnectError,
    ConnectionLostError,
    DataManagerError,
    HTTPStatusError,
    RateLimitedError,
    RequestTimeoutError,
    ServiceUnavailableError,
)

_MAX_DOUBLINGS = 64
"""Far past any sane ``backoff_max``; keeps ``2.0 ** n`` from overflowing on long retries."""

_RETRIED_WHEN_IDEMPOTENT = (
    RequestTimeoutError,
    ConnectionLostError,
    RateLimitedError,
    ServiceUnavailableError,
)


def is_retryable(error: DataManagerError, *, idempotent: bool) -> bool:
    """Whether another attempt may fix ``error``.

    A connect error means the request was never sent, so it is retried for any request.
    Everything else that is retried (timeouts, dropped connections, 429, 502-504) may
    follow a request the server already acted on, so only idempotent requests retry it.
    """
    if isinstance(error, ConnectError):
        return True
    return idempotent and isinstance(error, _RETRIED_WHEN_IDEMPOTENT)


def backoff_delay(attempt: int, policy: RetryPolicy, random: RandomUnit) -> float:
    """Full-jitter exponential backoff after failed attempt ``attempt`` (1-based).

    Uniform in ``[0, min(backoff_max, backoff_initial * 2 ** (attempt - 1)))``: the ceiling
    grows exponentially, and the jitter keeps many clients from retrying in lockstep.
    """
    doublings = min(attempt - 1, _MAX_DOUBLINGS)
    ceiling = min(policy.backoff_max_s, policy.backoff_initial_s * 2.0**doublings)
    return ceiling * random()


def retry_delay(
    error: DataManagerError, attempt: int, policy: RetryPolicy, random: RandomUnit
) -> float:
    """The wait before the next attempt: the jittered backoff, or longer if the server asks.

    ``Retry-After`` is the least the server wants us to wait; a ``Retry-After: 0`` does not
    turn the retries into a tight loop.
    """
    delay = backoff_delay(attempt, policy, random)
    if isinstance(error, HTTPStatusError) and error.retry_after_s is not None:
        return max(delay, error.retry_after_s)
    return delay


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds; HTTP dates and garbage give None (fall back to backoff).

    Fractional seconds are accepted, though servers send whole ones.
    """
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds
