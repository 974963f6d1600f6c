"""Hand-built candle shapes: a quiet or trending base long enough for any warm-up, then
the few candles a rule is about, given explicitly."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from petrosa.contracts import Interval
from petrosa.tabot.window import CandleWindow
from tests.unit.tabot.candles import window

Candle = tuple[float, float, float, float, float]
"""open, high, low, close, volume"""
WICK = 0.0005
VOLUME = 100.0


def base(
    rows: int, *, level: float = 100.0, drift: float = 0.0, swing: float = 0.002
) -> list[Candle]:
    """A zig-zag: two steps with the drift, one against it, each ``swing`` of the price;
    small wicks and constant volume."""
    candles: list[Candle] = []
    close = level
    for row in range(rows):
        step = swing if row % 3 != 2 else -swing
        if drift < 0:
            step = -step
        opened = close
        close = opened * (1 + step + drift)
        high, low = max(opened, close) * (1 + WICK), min(opened, close) * (1 - WICK)
        candles.append((opened, high, low, close, VOLUME))
    return candles


def flat(rows: int, level: float = 100.0, swing: float = 0.002) -> list[Candle]:
    """Alternating up and down closes around ``level``."""
    candles: list[Candle] = []
    for row in range(rows):
        opened, close = (
            (level, level * (1 + swing)) if row % 2 == 0 else (level * (1 + swing), level)
        )
        candles.append(
            (
                opened,
                max(opened, close) * (1 + WICK),
                min(opened, close) * (1 - WICK),
                close,
                VOLUME,
            )
        )
    return candles


def build(candles: Sequence[Candle], interval: Interval = Interval.M15) -> CandleWindow:
    array = np.asarray(candles, dtype=np.float64)
    return window(interval, array[:, 0], array[:, 1], array[:, 2], array[:, 3], array[:, 4])


def last_close(candles: Sequence[Candle]) -> float:
    return candles[-1][3]


def candle(opened: float, high: float, low: float, close: float, volume: float = VOLUME) -> Candle:
    return (opened, high, low, close, volume)
