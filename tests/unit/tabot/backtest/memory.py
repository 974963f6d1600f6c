"""An in-memory ``CandleSource`` for backtest tests."""

from __future__ import annotations

import numpy as np

from petrosa.contracts import Interval
from petrosa.tabot.backtest.history import empty
from petrosa.tabot.window import CandleWindow


class MemoryCandles:
    """Candles by (symbol, interval); records every request made."""

    def __init__(self, series: dict[tuple[str, Interval], CandleWindow]) -> None:
        self.series = series
        self.requests: list[tuple[str, Interval, int, int]] = []

    async def candles(
        self, symbol: str, interval: Interval, start_ms: int, end_ms: int
    ) -> CandleWindow:
        self.requests.append((symbol, interval, start_ms, end_ms))
        window = self.series.get((symbol, interval))
        if window is None:
            return empty(interval)
        first, stop = np.searchsorted(window.open_time, [start_ms, end_ms])
        return window.rows(int(first), int(stop))
