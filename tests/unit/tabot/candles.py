"""Candle series for the TA bot's tests: random walks and hand-built shapes."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from petrosa.contracts import Interval
from petrosa.tabot.window import CandleWindow

START_MS = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000
"""A day boundary, so every interval's grid lines up with it."""


def random_walk(
    rows: int,
    *,
    seed: int = 7,
    interval: Interval = Interval.M15,
    start_ms: int = START_MS,
    drift: float = 0.0,
    sigma: float = 0.006,
) -> CandleWindow:
    """A geometric random walk with regime changes in volatility and volume spikes, so
    most rules meet their conditions somewhere in a few thousand candles."""
    rng = np.random.default_rng(seed)
    regime = np.repeat(rng.uniform(0.3, 1.6, rows // 200 + 1), 200)[:rows]
    trend = np.repeat(rng.normal(drift, sigma / 4, rows // 300 + 1), 300)[:rows]
    returns = trend + rng.normal(0, sigma, rows) * regime
    close = 100 * np.exp(np.cumsum(returns))
    open_ = np.concatenate(([100.0], close[:-1]))
    wick = np.abs(rng.normal(0, sigma / 2, (2, rows))) * regime
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = rng.lognormal(3, 0.4, rows) * np.where(rng.random(rows) < 0.03, 6.0, 1.0)
    return window(interval, open_, high, low, close, volume, start_ms=start_ms)


def window(
    interval: Interval,
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    *,
    start_ms: int = START_MS,
    higher: CandleWindow | None = None,
    relative_strength: npt.ArrayLike | None = None,
) -> CandleWindow:
    """Consecutive candles from ``start_ms`` (no gaps)."""
    rows = len(np.asarray(close))
    step = interval.milliseconds
    assert step is not None
    return CandleWindow.from_arrays(
        interval,
        start_ms + step * np.arange(rows),
        open_,
        high,
        low,
        close,
        volume,
        higher=higher,
        relative_strength=relative_strength,
    )


def resample(candles: CandleWindow, interval: Interval) -> CandleWindow:
    """The same prices as candles of a longer interval (whole groups only)."""
    step, base = interval.milliseconds, candles.step_ms
    assert step is not None
    assert step % base == 0
    group = step // base
    first = int(np.argmax((candles.open_time % step) == 0))
    count = (len(candles) - first) // group
    picked = slice(first, first + count * group)

    def grouped(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return values[picked].reshape(count, group)

    return CandleWindow.from_arrays(
        interval,
        candles.open_time[picked][::group],
        grouped(candles.open)[:, 0],
        grouped(candles.high).max(axis=1),
        grouped(candles.low).min(axis=1),
        grouped(candles.close)[:, -1],
        grouped(candles.volume).sum(axis=1),
    )
