"""Leases as the caller sees them, and the arithmetic of when one must be given up."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MAX_NAME_LENGTH = 255
"""Longest lock name or owner identity; every backend stores them in 255 characters."""

CLOCK_DRIFT_FACTOR = 0.01
"""Share of the ttl a holder gives up early, in case its clock runs faster than the store's.

Real clock-rate differences are far smaller (parts per million); one per cent also absorbs
scheduling jitter and costs the holder only a sliver of every lease.
"""

RENEW_FRACTION = 1 / 3
"""Default renewal period as a share of the ttl: two renewals may fail before the lease ends."""


@dataclass(frozen=True, slots=True)
class Grant:
    """A store's answer to a successful acquire or renew: facts from the store's side only."""

    token: int
    expires_at: dt.datetime
    """When the store will consider the lease expired, on the store's own clock (UTC)."""


@dataclass(frozen=True, slots=True)
class Lease:
    """A lock held by ``owner``, with its fencing token and both views of its end."""

    name: str
    owner: str
    token: int
    """Fencing token: strictly greater for every new holder of ``name``, never reused."""
    ttl: float
    expires_at: dt.datetime
    """The store's expiry (store clock, UTC): for logs and humans, never compared locally."""
    valid_until: float
    """Local monotonic time after which the holder must stop acting (see local_deadline)."""

    def remaining(self, now: float) -> float:
        """Seconds of validity left at local monotonic time ``now`` (0 once expired)."""
        return max(0.0, self.valid_until - now)

    def is_valid(self, now: float) -> bool:
        return now < self.valid_until


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """Who holds a lock right now, as the store sees it."""

    name: str
    owner: str
    token: int
    expires_at: dt.datetime


def local_deadline(sent_at: float, ttl: float) -> float:
    """When a holder must consider its lease gone, on its own monotonic clock.

    ``sent_at`` is the local time just before the acquire or renew request left. The store
    starts the ttl when it executes the request, which is later, so counting from
    ``sent_at`` (and shortening by CLOCK_DRIFT_FACTOR) ends the lease locally no later than
    the store lets anyone else take it.
    """
    return sent_at + ttl * (1.0 - CLOCK_DRIFT_FACTOR)


def default_renew_interval(ttl: float) -> float:
    return ttl * RENEW_FRACTION


def check_lease_args(name: str, owner: str, ttl: float) -> None:
    """Reject arguments every backend would mishandle, before any I/O."""
    check_name("lock name", name)
    check_name("owner", owner)
    if not ttl > 0:
        raise ValueError(f"ttl must be positive seconds, got {ttl!r}")


def check_name(what: str, value: str) -> None:
    if not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} is longer than {MAX_NAME_LENGTH} characters")


def from_epoch(seconds: float) -> dt.datetime:
    """Store-clock epoch seconds as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
