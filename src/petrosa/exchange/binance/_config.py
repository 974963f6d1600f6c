"""Named defaults and the injectable pieces (clock, sleep, randomness) of the client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)
USER_AGENT = "petrosa-binance"

DEFAULT_BUDGET_FRACTION = 0.9
"""Share of the exchange's weight limit the client allows itself (the rest is headroom)."""
DEFAULT_BOUNDARY_MARGIN_S = 1.0
"""How long after a minute starts (by the server clock) the client trusts the window reset.

Covers the uncertainty of the estimated server clock: a request sent a moment too early
would land in the old, full window and draw a 429.
"""

DEFAULT_MAX_ATTEMPTS = 5
"""Attempts per call for transport errors and 5xx (the first try included)."""
DEFAULT_MAX_RATE_LIMIT_PAUSES = 3
"""429 answers a call accepts (pausing each time) before it raises ``RateLimitedError``."""
DEFAULT_BACKOFF_INITIAL_S = 0.5
DEFAULT_BACKOFF_MAX_S = 8.0

Clock = Callable[[], float]
"""Wall-clock epoch seconds, like ``time.time`` (windows follow calendar minutes)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried: attempts, 429 pauses, and the backoff curve."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_rate_limit_pauses: int = DEFAULT_MAX_RATE_LIMIT_PAUSES
    backoff_initial_s: float = DEFAULT_BACKOFF_INITIAL_S
    backoff_max_s: float = DEFAULT_BACKOFF_MAX_S

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_rate_limit_pauses < 0:
            raise ValueError("max_rate_limit_pauses must not be negative")
        if not 0 <= self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError("need 0 <= backoff_initial <= backoff_max")
