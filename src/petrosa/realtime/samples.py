"""Per-second samples: "a sample is the last snapshot of each 1 s" (STRATEGIES.md 4.1).

A second without a message keeps the previous sample: the socket client publishes a book
only when it changed and a price only when someone traded, so silence means "as before"
(a silence long enough to matter is a stale feed and resets the state instead). The
current second's sample is provisional, the latest value so far; rules read it so they
fire on the message that completes them, not up to a second later.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")
SECOND_MS = 1_000


class SecondSamples(Generic[T]):
    """The last ``keep`` closed per-second samples and the current second's."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.closed: deque[T] = deque(maxlen=keep)
        self.second: int | None = None
        self.current: T | None = None

    def add(self, time_ms: int, value: T) -> None:
        """The latest value at ``time_ms`` (never earlier than the previous one's second)."""
        second = time_ms // SECOND_MS
        if self.second is not None and self.current is not None and second > self.second:
            for _ in range(min(second - self.second, self.keep)):
                self.closed.append(self.current)
        if self.second is None or second > self.second:
            self.second = second
        self.current = value

    def ago(self, seconds: int) -> T | None:
        """The sample of the second ``seconds`` before the current one, if kept."""
        if seconds == 0:
            return self.current
        if seconds > len(self.closed):
            return None
        return self.closed[-seconds]

    def last(self, count: int) -> list[T] | None:
        """The ``count`` latest samples, oldest first, current included; None if fewer."""
        if self.current is None or count - 1 > len(self.closed):
            return None
        earlier = list(self.closed)[len(self.closed) - (count - 1) :] if count > 1 else []
        return [*earlier, self.current]
