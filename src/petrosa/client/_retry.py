"""Retry decisions as pure functions: which errors are retried, and how long to wait."""

from __future__ import annotations

from petrosa.client._config import RetryPolicy
from petrosa.client._exceptions import (
    ConnectError,
    ConnectionLostError,
    DataManagerError,
    HTTPStatusError,
    RateLimitedError,
    RequestTimeoutError,
    ServiceUnavailableError,
)
from petrosa.resilience import RandomUnit, full_jitter_backoff

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
    """The policy's full-jitter backoff after failed attempt ``attempt`` (1-based)."""
    return full_jitter_backoff(
        attempt, initial_s=policy.backoff_initial_s, max_s=policy.backoff_max_s, random=random
    )


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
