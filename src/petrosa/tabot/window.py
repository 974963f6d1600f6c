"""The candles a strategy evaluates: closed candles of one (symbol, interval) as arrays.

A window is what the live runner fetched or what the backtest loaded; strategies see
nothing else. Rows are in open-time order and the last row is the candle that just closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from petrosa.contracts import Interval

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class CandleWindow:
    """OHLCV arrays of consecutive closed candles, plus the inputs some strategies need
    beyond their own candles: the higher-timeframe candles and the relative-strength rank."""

    interval: Interval
    open_time: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    higher: CandleWindow | None = None
    """Closed candles of a higher timeframe (``multi_timeframe_trend_continuation``)."""
    relative_strength: FloatArray | None = field(default=None)
    """Per row, the percentile rank (0–100) of the symbol's performance among its universe
    (``minervini_trend_template``; see ``petrosa.tabot.relative_strength``)."""

    def __post_init__(self) -> None:
        rows = len(self.open_time)
        columns = (self.open, self.high, self.low, self.close, self.volume)
        if any(len(column) != rows for column in columns):
            raise ValueError("every column of a candle window has one value per row")
        if self.relative_strength is not None and len(self.relative_strength) != rows:
            raise ValueError("relative_strength needs one value per row")

    @classmethod
    def from_arrays(
        cls,
        interval: Interval | str,
        open_time: npt.ArrayLike,
        open: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        volume: npt.ArrayLike,
        *,
        higher: CandleWindow | None = None,
        relative_strength: npt.ArrayLike | None = None,
    ) -> CandleWindow:
        """A window from any array-likes, converted to int64 times and float64 prices."""

        def floats(values: npt.ArrayLike) -> FloatArray:
            return np.ascontiguousarray(values, dtype=np.float64)

        return cls(
            interval=Interval(interval),
            open_time=np.ascontiguousarray(open_time, dtype=np.int64),
            open=floats(open),
            high=floats(high),
            low=floats(low),
            close=floats(close),
            volume=floats(volume),
            higher=higher,
            relative_strength=None if relative_strength is None else floats(relative_strength),
        )

    def __len__(self) -> int:
        return len(self.open_time)

    @property
    def close_time(self) -> IntArray:
        """Binance close times: the next candle's open time minus one millisecond."""
        return self.open_time + (self.step_ms - 1)

    @property
    def step_ms(self) -> int:
        step = self.interval.milliseconds
        if step is None:
            raise ValueError(f"interval {self.interval.value} has no fixed length")
        return step

    def first_gap(self) -> int | None:
        """Index of the first row whose open time does not follow the previous row's by
        exactly one interval (a missing, repeated or unordered candle), or None."""
        steps = np.diff(self.open_time)
        bad = np.flatnonzero(steps != self.step_ms)
        return None if len(bad) == 0 else int(bad[0]) + 1

    def rows(self, start: int | None = None, stop: int | None = None) -> CandleWindow:
        """Rows ``start:stop``; the higher timeframe keeps only candles closed by then."""
        picked = slice(start, stop)
        open_time = self.open_time[picked]
        higher = self.higher
        if higher is not None and len(open_time) > 0:
            last_close = int(open_time[-1]) + self.step_ms - 1
            higher = higher.rows(0, int(np.searchsorted(higher.close_time, last_close, "right")))
        return CandleWindow(
            interval=self.interval,
            open_time=open_time,
            open=self.open[picked],
            high=self.high[picked],
            low=self.low[picked],
            close=self.close[picked],
            volume=self.volume[picked],
            higher=higher,
            relative_strength=(
                None if self.relative_strength is None else self.relative_strength[picked]
            ),
        )

    def tail(self, count: int) -> CandleWindow:
        """The last ``count`` rows."""
        return self.rows(max(0, len(self) - count), None)


def align_higher(window: CandleWindow, higher: CandleWindow) -> npt.NDArray[np.intp]:
    """For each row of ``window``, the index in ``higher`` of the last higher-timeframe candle
    closed at or before that row's close (-1 when none is): never a candle still forming."""
    position = np.searchsorted(higher.close_time, window.close_time, side="right")
    return np.asarray(position - 1, dtype=np.intp)


def take_aligned(values: FloatArray, index: npt.NDArray[np.intp]) -> FloatArray:
    """``values[index]`` with NaN where the index is -1 (no higher candle closed yet)."""
    if len(values) == 0:
        return np.full(len(index), np.nan)
    picked = values[np.maximum(index, 0)]
    return np.where(index >= 0, picked, np.nan)
