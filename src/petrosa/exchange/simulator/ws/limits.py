"""The incoming-message limit: Binance closes a connection whose client sends more than 5
(spot) or 10 (futures) messages within a second."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 1.0


class MessageRate:
    """Counts a connection's incoming messages over a sliding one-second window."""

    def __init__(self, per_second: int, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self._monotonic = monotonic
        self._arrivals: deque[float] = deque()

    def admit(self) -> bool:
        """Record one message; False once more than ``per_second`` arrived within a second."""
        now = self._monotonic()
        arrivals = self._arrivals
        while arrivals and now - arrivals[0] >= WINDOW_S:
            arrivals.popleft()
        arrivals.append(now)
        return len(arrivals) <= self.per_second
