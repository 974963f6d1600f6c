"""Retry arithmetic shared by every HTTP client in petrosa (Data Manager, Binance).

Pure functions and the injectable time/randomness types, so each client keeps its own policy
(what is retried, how often) while the backoff curve and ``Retry-After`` parsing live once.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
"""Seconds, like ``time.monotonic`` or ``time.time`` (each client says which)."""
Sleep = Callable[[float], Awaitable[None]]
"""Waits the given seconds, like ``asyncio.sleep``."""
RandomUnit = Callable[[], float]
"""A float in [0, 1), like ``random.random``."""

_MAX_DOUBLINGS = 64
"""Far past any sane maximum; keeps ``2.0 ** n`` from overflowing on long retries."""


def full_jitter_backoff(
    attempt: int, *, initial_s: float, max_s: float, random: RandomUnit
) -> float:
    """Full-jitter exponential backoff after failed attempt ``attempt`` (1-based).

    Uniform in ``[0, min(max_s, initial_s * 2 ** (attempt - 1)))``: the ceiling grows
    exponentially, and the jitter keeps many clients from retrying in lockstep.
    """
    doublings = min(max(attempt - 1, 0), _MAX_DOUBLINGS)
    return min(max_s, initial_s * 2.0**doublings) * random()


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds; absent, HTTP dates and garbage give None (use backoff)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds
