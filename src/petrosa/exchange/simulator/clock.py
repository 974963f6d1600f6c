"""The simulator's clock: simulated now = ``clock_start`` + real time elapsed since start-up.

Two readings, both epoch milliseconds:

* ``now_ms`` is the exchange's "now" (``serverTime``, the still-open candle, the newest
  trade). It stands still when the clock is frozen, so tests can ask for "the last 24 hours"
  and get the same answer every time.
* ``running_ms`` never stands still: the request-weight windows follow it, so limits reset
  every minute even on a frozen clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

_MS_PER_S = 1_000


class Clock(Protocol):
    """What the simulator asks of a clock."""

    def now_ms(self) -> int:
        """The simulated exchange time."""
        ...

    def running_ms(self) -> int:
        """Simulated start + real elapsed time, even when ``now_ms`` is frozen."""
        ...


class SimulatedClock:
    """``start_ms`` (default: the real time at creation) plus real time elapsed since."""

    def __init__(
        self,
        start_ms: int | None = None,
        *,
        frozen: bool = False,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.start_ms = round(wall() * _MS_PER_S) if start_ms is None else start_ms
        self.frozen = frozen
        self._monotonic = monotonic
        self._origin_s = monotonic()

    def running_ms(self) -> int:
        elapsed_ms = (self._monotonic() - self._origin_s) * _MS_PER_S
        return self.start_ms + int(elapsed_ms)

    def now_ms(self) -> int:
        return self.start_ms if self.frozen else self.running_ms()

    def advance(self, ms: int) -> None:
        """Jump simulated time forward (the market moves on; rate-limit windows too)."""
        self.start_ms += ms


class ManualClock:
    """A clock that moves only when told to (tests, scripted scenarios)."""

    def __init__(self, now_ms: int) -> None:
        self._now_ms = now_ms

    def now_ms(self) -> int:
        return self._now_ms

    def running_ms(self) -> int:
        return self._now_ms

    def advance(self, ms: int) -> None:
        """Move time forward by ``ms`` milliseconds."""
        self._now_ms += ms

    def set(self, now_ms: int) -> None:
        """Jump to ``now_ms``."""
        self._now_ms = now_ms
