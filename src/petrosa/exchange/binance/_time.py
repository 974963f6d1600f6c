"""Time values at the edge of the client: epoch milliseconds, datetimes, interval lengths."""

from __future__ import annotations

import datetime as dt

from petrosa.contracts import Interval

TimeBound = int | dt.datetime
"""Epoch milliseconds, or a timezone-aware datetime."""

SECOND_MS = 1_000
HOUR_MS = 3_600_000
SPOT_SECOND_INTERVAL = "1s"
"""Spot's one-second klines: not in ``Interval`` (no other market has them)."""
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_ms(value: TimeBound) -> int:
    """Epoch milliseconds of ``value``; naive datetimes are refused (their zone is unknown)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware (UTC)")
        return (value - _EPOCH) // dt.timedelta(milliseconds=1)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected epoch milliseconds or a datetime, got {value!r}")
    return value


def optional_ms(value: TimeBound | None) -> int | None:
    """``to_ms`` that lets None through (an absent filter)."""
    return None if value is None else to_ms(value)


def interval_ms(interval: Interval | str) -> int | None:
    """Length of ``interval`` in ms; None for the calendar month (its length varies)."""
    if interval == SPOT_SECOND_INTERVAL:
        return SECOND_MS
    return Interval(interval).milliseconds
