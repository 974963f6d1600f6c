"""The higher timeframe a multi-timeframe rule reads (STRATEGIES.md 3.1 #3)."""

from __future__ import annotations

import math

from petrosa.contracts import Interval

HIGHER_TIMEFRAME_FACTOR = 4
"""The higher timeframe is the smallest Binance interval at least this many times longer."""


def higher_interval(base: Interval, factor: int = HIGHER_TIMEFRAME_FACTOR) -> Interval:
    """5m → 30m, 15m → 1h, 1h → 4h, 4h → 1d; calendar months are never chosen."""
    base_ms = base.milliseconds
    if base_ms is None:
        raise ValueError(f"{base.value} has no fixed length")
    longer = [
        interval
        for interval in Interval
        if interval.milliseconds is not None and interval.milliseconds >= factor * base_ms
    ]
    if not longer:
        raise ValueError(f"no Binance interval is {factor}× {base.value} or longer")
    return min(longer, key=lambda interval: interval.milliseconds or 0)


def higher_rows_needed(base: Interval, higher: Interval, base_rows: int, warm_up: int) -> int:
    """Higher-timeframe candles to fetch so that every one of the last ``base_rows`` base
    candles reads a converged value: the higher W₀ plus the higher candles those base rows
    span, plus one for the candle still open when the first of them closed."""
    base_ms, higher_ms = base.milliseconds, higher.milliseconds
    if base_ms is None or higher_ms is None:
        raise ValueError("calendar months have no fixed length")
    return warm_up + math.ceil(base_rows * base_ms / higher_ms) + 1
