"""A small cache of "newest N candles" answers, invalidated on every local write.

The database query is not what limits the read rate; the per-request machinery around it is
(see shared PERFORMANCE.md). Serving the pre-serialized newest candles from memory is what
gets well past 1,000 requests/s. Local writes invalidate their series at once; the TTL
bounds how stale an answer can be after a write through *another* replica.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

MAX_SERIES = 2_048
"""Series (market+symbol+interval) kept at most; the least recently used goes first."""

SeriesKey = tuple[str, str, str]


class CandleCache:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[SeriesKey, dict[Hashable, tuple[float, bytes]]] = OrderedDict()
        self._generation: dict[SeriesKey, int] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def generation(self, series: SeriesKey) -> int:
        return self._generation.get(series, 0)

    def get(self, series: SeriesKey, variant: Hashable) -> bytes | None:
        entries = self._entries.get(series)
        if entries is None:
            return None
        hit = entries.get(variant)
        if hit is None or hit[0] < self._clock():
            return None
        self._entries.move_to_end(series)
        return hit[1]

    def put(self, series: SeriesKey, variant: Hashable, body: bytes, generation: int) -> None:
        """Store an answer computed when the series was at ``generation``; dropped if stale."""
        if not self.enabled or generation != self.generation(series):
            return
        self._entries.setdefault(series, {})[variant] = (self._clock() + self.ttl_s, body)
        self._entries.move_to_end(series)
        while len(self._entries) > MAX_SERIES:
            self._entries.popitem(last=False)

    def invalidate(self, series: SeriesKey) -> None:
        self._generation[series] = self.generation(series) + 1
        self._entries.pop(series, None)
