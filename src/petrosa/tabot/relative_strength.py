"""Relative strength for ``minervini_trend_template`` (STRATEGIES.md 3.6).

P = Σ wₖ·(c/c[k] − 1) over a year of daily closes; RS is P's percentile rank (0–100) among
the universe's symbols on the same day. With too few symbols holding a year of history the
rank means little, so the gate becomes "P beats the benchmark's P" (the benchmark itself:
P > 0), reported as RS = the gate's threshold when it passes and 0 when it does not — the
rule passes exactly then, and the confidence gets no RS bonus from a rank it never had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from petrosa.tabot.series import lag
from petrosa.tabot.window import CandleWindow

FloatArray = npt.NDArray[np.float64]

DEFAULT_HORIZONS = (91, 182, 273, 364)
DEFAULT_WEIGHTS = (0.4, 0.2, 0.2, 0.2)


def performance(
    close: FloatArray,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    weights: Sequence[float] = DEFAULT_WEIGHTS,
) -> FloatArray:
    """P per row: the weighted returns over each horizon (NaN without a year of history)."""
    total = np.zeros_like(close)
    for horizon, weight in zip(horizons, weights, strict=True):
        total = total + weight * (close / lag(close, horizon) - 1)
    return total


def relative_strength(
    universe: Mapping[str, CandleWindow],
    symbol: str,
    *,
    passing_rank: float,
    min_symbols: int = 10,
    benchmark: str = "BTCUSDT",
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    weights: Sequence[float] = DEFAULT_WEIGHTS,
) -> FloatArray:
    """RS of ``symbol`` for each of its rows, from the universe's daily candles (the
    symbol's own included). NaN where the symbol has no P yet."""
    own = universe[symbol]
    scores = {
        name: _on_days(performance(candles.close, horizons, weights), candles, own.open_time)
        for name, candles in universe.items()
    }
    mine = scores[symbol]
    stacked = np.stack(list(scores.values()))
    holding = np.isfinite(stacked)
    counted = holding.sum(axis=0)
    below = (np.where(holding, stacked, np.inf) < mine).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rank = np.where(counted > 1, 100.0 * below / (counted - 1), 100.0)
    reference = (
        np.zeros_like(mine) if symbol == benchmark
        else scores.get(benchmark, np.full_like(mine, np.nan))
    )  # fmt: skip
    fallback = np.where(mine > reference, passing_rank, 0.0)
    result = np.where(counted >= min_symbols, rank, fallback)
    return np.where(np.isfinite(mine), result, np.nan)


def _on_days(values: FloatArray, candles: CandleWindow, days: npt.NDArray[np.int64]) -> FloatArray:
    """``values`` of ``candles`` at the given open times (NaN on days it has no candle)."""
    position = np.searchsorted(candles.open_time, days)
    inside = position < len(candles)
    clipped = np.minimum(position, max(len(candles) - 1, 0))
    found = inside & (candles.open_time[clipped] == days) if len(candles) else inside
    return np.where(found, values[clipped] if len(candles) else np.nan, np.nan)
