"""Vectorised forms of the notation of STRATEGIES.md 2.1, over whole series.

Every function returns an array as long as its input whose value at row t uses rows t and
earlier only; rows without enough history hold NaN (floats) or False (booleans), so a rule
built from them is simply false there.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from petrosa.tabot import talib_functions as ta

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def lag(values: FloatArray, k: int) -> FloatArray:
    """``x[k]``: the series k candles earlier (NaN for the first k rows)."""
    if k == 0:
        return values
    shifted = np.full_like(values, np.nan)
    if k < len(values):
        shifted[k:] = values[:-k]
    return shifted


def lag_bool(values: BoolArray, k: int) -> BoolArray:
    """A condition k candles earlier (False for the first k rows)."""
    if k == 0:
        return values
    shifted = np.zeros_like(values)
    if k < len(values):
        shifted[k:] = values[:-k]
    return shifted


def highest(high: FloatArray, n: int, k: int) -> FloatArray:
    """``HH(n,k)``: max of high[k] … high[k+n−1]."""
    return lag(ta.rolling_max(high, n), k)


def lowest(low: FloatArray, n: int, k: int) -> FloatArray:
    """``LL(n,k)``: min of low[k] … low[k+n−1]."""
    return lag(ta.rolling_min(low, n), k)


def average(values: FloatArray, n: int, k: int) -> FloatArray:
    """``AVG(x,n,k)``: mean of x[k] … x[k+n−1]."""
    return lag(ta.sma(values, n), k)


def window_min(values: FloatArray, n: int) -> FloatArray:
    """min(x[0] … x[n−1]) of a series that may hold NaN (then NaN: an unconverged value
    never passes as an extreme)."""
    return _window_extreme(values, n, np.minimum)


def window_max(values: FloatArray, n: int) -> FloatArray:
    """max(x[0] … x[n−1]), NaN when any of them is."""
    return _window_extreme(values, n, np.maximum)


def _window_extreme(values: FloatArray, n: int, pick: np.ufunc) -> FloatArray:
    """A sliding extreme in O(rows) whatever ``n`` (a year of daily closes read over a year
    of 1m candles in a backtest): the series cut into blocks of n, running extremes forward
    and backward within each block; a window spans the end of one block and the start of
    the next, so its extreme is one pick of the two. ``np.minimum``/``np.maximum`` carry NaN
    through, so a window holding one is NaN, as the definition asks; values are exact."""
    rows = len(values)
    result = np.full(rows, np.nan)
    if n < 1 or rows < n:
        return result
    blocks = -(-rows // n)
    padded = np.full(blocks * n, np.nan)
    padded[:rows] = values
    grid = padded.reshape(blocks, n)
    forward = pick.accumulate(grid, axis=1).ravel()
    backward = pick.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    # window of rows t−n+1 … t: backward from its first row, forward up to its last
    result[n - 1 :] = pick(backward[: rows - n + 1], forward[n - 1 : rows])
    return result


def rising(values: FloatArray, m: int) -> BoolArray:
    """``rising(x,m)``: x[0] > x[1] > … > x[m]."""
    result = np.ones(len(values), dtype=np.bool_)
    for k in range(m):
        result &= lag(values, k) > lag(values, k + 1)
    return result


def falling(values: FloatArray, m: int) -> BoolArray:
    """``falling(x,m)``: x[0] < x[1] < … < x[m]."""
    result = np.ones(len(values), dtype=np.bool_)
    for k in range(m):
        result &= lag(values, k) < lag(values, k + 1)
    return result


def crossed_up(a: FloatArray, b: FloatArray | float) -> BoolArray:
    """``up(a,b)``: a[1] ≤ b[1] and a[0] > b[0]."""
    b_now = np.broadcast_to(np.asarray(b, dtype=np.float64), a.shape)
    return (lag(a, 1) <= lag(np.array(b_now), 1)) & (a > b_now)


def crossed_down(a: FloatArray, b: FloatArray | float) -> BoolArray:
    """The mirror of ``up(a,b)``: a[1] ≥ b[1] and a[0] < b[0]."""
    b_now = np.broadcast_to(np.asarray(b, dtype=np.float64), a.shape)
    return (lag(a, 1) >= lag(np.array(b_now), 1)) & (a < b_now)


def all_of(conditions: list[BoolArray]) -> BoolArray:
    """Rows where every condition holds."""
    return np.asarray(np.logical_and.reduce(conditions), dtype=np.bool_)


def any_of(conditions: list[BoolArray]) -> BoolArray:
    """Rows where at least one condition holds."""
    return np.asarray(np.logical_or.reduce(conditions), dtype=np.bool_)


def count_of(conditions: list[BoolArray]) -> npt.NDArray[np.int64]:
    """How many of the conditions hold, per row."""
    return np.asarray(np.sum(np.stack(conditions), axis=0), dtype=np.int64)


def ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """numerator / denominator, NaN where the denominator is 0 (a flat candle, no volume)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0, numerator / denominator, np.nan)
