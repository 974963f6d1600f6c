"""Where candles of each interval open: fixed grids from the epoch, weeks on Mondays, and
calendar months."""

from __future__ import annotations

import datetime as dt

import numpy as np

from petrosa.contracts.market import Interval
from petrosa.exchange.simulator.bars import Ints
from petrosa.exchange.simulator.market import Level

MONTHS_PER_YEAR = 12
_MS_PER_S = 1_000

INTERVAL_LEVEL: dict[Interval, Level] = {
    Interval.M1: Level.MINUTE,
    Interval.M3: Level.MINUTE,
    Interval.M5: Level.MINUTE,
    Interval.M15: Level.QUARTER,
    Interval.M30: Level.QUARTER,
    Interval.H1: Level.HOUR,
    Interval.H2: Level.HOUR,
    Interval.H4: Level.HOUR,
    Interval.H6: Level.HOUR,
    Interval.H8: Level.HOUR,
    Interval.H12: Level.HOUR,
    Interval.D1: Level.DAY,
    Interval.D3: Level.DAY,
    Interval.W1: Level.DAY,
    Interval.MO1: Level.DAY,
}
"""The coarsest tree level whose nodes tile each interval's candles exactly."""


def _month_start_ms(index: int) -> int:
    year, month0 = divmod(index, MONTHS_PER_YEAR)
    start = dt.datetime(year, month0 + 1, 1, tzinfo=dt.UTC)
    return int(start.timestamp()) * _MS_PER_S


class CandleGrid:
    """Candles of one interval numbered by an integer index, in time order."""

    def __init__(self, interval: Interval) -> None:
        self.interval = interval
        self._step = interval.milliseconds
        self._phase = interval.phase_ms

    def index_of(self, ms: int) -> int:
        """Index of the candle containing ``ms``."""
        if self._step is None:
            moment = dt.datetime.fromtimestamp(ms // _MS_PER_S, dt.UTC)
            return moment.year * MONTHS_PER_YEAR + moment.month - 1
        return (ms - self._phase) // self._step

    def start(self, index: int) -> int:
        """Open time of candle ``index``."""
        if self._step is None:
            return _month_start_ms(index)
        return self._phase + index * self._step

    def ceil_index(self, ms: int) -> int:
        """Index of the first candle opening at or after ``ms``."""
        index = self.index_of(ms)
        return index if self.start(index) == ms else index + 1

    def starts(self, first: int, stop: int) -> Ints:
        """Open times of candles [first, stop]: one more than the range, the last one is
        the end of candle ``stop - 1``."""
        if self._step is None:
            return np.array([_month_start_ms(i) for i in range(first, stop + 1)], dtype=np.int64)
        return self._phase + np.arange(first, stop + 1, dtype=np.int64) * self._step
