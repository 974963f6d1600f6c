"""The TA-Lib functions the indicator set uses, behind typed signatures.

TA-Lib's Python binding is the one place a float64 array goes into C; keeping every call
here gives the rest of the package typed arrays and one spot to pin the definitions that
golden-value tests check (SMA-seeded EMA, Wilder RSI/ATR/ADX, population-sigma bands).
TA-Lib's per-function "unstable period" stays at 0: warm-up is enforced by row count.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import talib

FloatArray = npt.NDArray[np.float64]


def _f64(values: object) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def ema(close: FloatArray, period: int) -> FloatArray:
    """Exponential average, alpha 2/(n+1), seeded with the SMA of the first n values."""
    return _f64(talib.EMA(close, timeperiod=period))


def sma(values: FloatArray, period: int) -> FloatArray:
    """Simple average of the last n values, the current one included."""
    return _f64(talib.SMA(values, timeperiod=period))


def rsi(close: FloatArray, period: int) -> FloatArray:
    """Wilder's RSI (alpha 1/n)."""
    return _f64(talib.RSI(close, timeperiod=period))


def macd(
    close: FloatArray, fast: int, slow: int, signal: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """MACD line, signal line and histogram."""
    line, signal_line, histogram = talib.MACD(
        close, fastperiod=fast, slowperiod=slow, signalperiod=signal
    )
    return _f64(line), _f64(signal_line), _f64(histogram)


def adx(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """Wilder's average directional index."""
    return _f64(talib.ADX(high, low, close, timeperiod=period))


def atr(high: FloatArray, low: FloatArray, close: FloatArray, period: int) -> FloatArray:
    """Wilder's average true range."""
    return _f64(talib.ATR(high, low, close, timeperiod=period))


def bbands(
    close: FloatArray, period: int, deviations: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bollinger bands around the SMA with the population sigma: upper, middle, lower."""
    # matype left at its default, the SMA (the stubs type it as an enum the binding
    # does not re-export)
    upper, middle, lower = talib.BBANDS(
        close, timeperiod=period, nbdevup=deviations, nbdevdn=deviations
    )
    return _f64(upper), _f64(middle), _f64(lower)


def rolling_max(values: FloatArray, period: int) -> FloatArray:
    """Highest of the last n values, the current one included."""
    return _f64(talib.MAX(values, timeperiod=period))


def rolling_min(values: FloatArray, period: int) -> FloatArray:
    """Lowest of the last n values, the current one included."""
    return _f64(talib.MIN(values, timeperiod=period))
