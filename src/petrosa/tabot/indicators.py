"""The shared indicator set (STRATEGIES.md 2.2), its convergence rows (2.3) and the cache
that computes each indicator once per window for every strategy.

An ``Indicator`` names one output series (``EMA21``, ``MACD_HIST``…). Its ``rows`` is how
many rows a window needs for the value at its last row to be trusted: exact for windowed
functions, and for recursive smoothers the first value's row plus the updates after which the
seed's weight has decayed below the tolerance. Strategies declare the indicators they read
and at which offsets; their warm-up follows from that (``petrosa.tabot.strategy``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from petrosa.tabot import talib_functions as ta
from petrosa.tabot.series import ratio
from petrosa.tabot.window import CandleWindow

FloatArray = npt.NDArray[np.float64]

DEFAULT_SEED_TOLERANCE = 1e-6
"""ε of 2.3 (setting ``ema_seed_tolerance``): a smoothed value counts once its seed weighs
at most this much. 1e-4 would let crossings move between runs with different history."""


class Function(StrEnum):
    """The TA-Lib computations behind the indicator set."""

    EMA = "EMA"
    SMA = "SMA"
    VOLUME_SMA = "VOL_SMA"
    RSI = "RSI"
    ATR = "ATR"
    ADX = "ADX"
    MACD = "MACD"
    BBANDS = "BBANDS"
    BANDWIDTH = "BW"
    ICHIMOKU = "ICHIMOKU"


OUTPUT_NAMES: Mapping[Function, tuple[str, ...]] = {
    Function.MACD: ("MACD", "MACD_SIGNAL", "MACD_HIST"),
    Function.BBANDS: ("BB_UPPER", "BB_MIDDLE", "BB_LOWER"),
    Function.BANDWIDTH: ("BW",),
    Function.ICHIMOKU: ("TENKAN", "KIJUN", "SPAN_A", "SPAN_B"),
}
"""Names of multi-output (or unnumbered) functions' series, by output index."""
DEFAULT_PARAMS: Mapping[Function, tuple[float, ...]] = {
    Function.MACD: (12, 26, 9),
    Function.BBANDS: (20, 2.0),
    Function.BANDWIDTH: (20, 2.0),
    Function.ICHIMOKU: (9, 26, 52),
}


def smoothing_updates(alpha: float, tolerance: float) -> int:
    """Updates after a smoother's first value until its seed weighs ≤ tolerance:
    ⌈ln ε / ln(1 − α)⌉."""
    return math.ceil(math.log(tolerance) / math.log1p(-alpha))


def double_smoothing_updates(alpha: float, tolerance: float) -> int:
    """The same through two stacked smoothings (ADX), where a seed error decays like
    k·α·(1 − α)^k: the first k past that curve's peak where it is ≤ tolerance."""
    k = max(1, math.ceil(-1 / math.log1p(-alpha)))
    while k * alpha * (1 - alpha) ** k > tolerance:
        k += 1
    return k


@dataclass(frozen=True)
class Indicator:
    """One series of the indicator set: a function, its parameters and which output."""

    function: Function
    params: tuple[float, ...]
    output: int = 0

    @property
    def label(self) -> str:
        """The name STRATEGIES.md uses: ``EMA21``, ``VOL_SMA20``, ``MACD_HIST``, ``SPAN_B``."""
        names = OUTPUT_NAMES.get(self.function)
        if names is None:
            return f"{self.function.value}{_number(self.params[0])}"
        suffix = "" if self.params == DEFAULT_PARAMS[self.function] else _numbers(self.params)
        return names[self.output] + suffix

    def rows(self, tolerance: float = DEFAULT_SEED_TOLERANCE) -> int:
        """Rows a window needs for this series' last value to be converged (2.3)."""
        n = int(self.params[0])
        match self.function:
            case Function.EMA:
                return n + smoothing_updates(2 / (n + 1), tolerance)
            case Function.SMA | Function.VOLUME_SMA | Function.BBANDS | Function.BANDWIDTH:
                return n
            case Function.RSI | Function.ATR:
                return n + 1 + smoothing_updates(1 / n, tolerance)
            case Function.ADX:
                return 2 * n + double_smoothing_updates(1 / n, tolerance)
            case Function.MACD:
                _, slow, signal = (int(p) for p in self.params)
                return slow + signal - 1 + smoothing_updates(2 / (slow + 1), tolerance)
            case Function.ICHIMOKU:
                tenkan, kijun, span_b = (int(p) for p in self.params)
                displacement = kijun
                return (tenkan, kijun, kijun + displacement, span_b + displacement)[self.output]
        raise AssertionError(self.function)  # pragma: no cover - the match is exhaustive


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _numbers(values: tuple[float, ...]) -> str:
    return "(" + ",".join(_number(v) for v in values) + ")"


def ema(n: int) -> Indicator:
    return Indicator(Function.EMA, (n,))


def sma(n: int) -> Indicator:
    return Indicator(Function.SMA, (n,))


def volume_sma(n: int = 20) -> Indicator:
    return Indicator(Function.VOLUME_SMA, (n,))


def rsi(n: int = 14) -> Indicator:
    return Indicator(Function.RSI, (n,))


def atr(n: int = 14) -> Indicator:
    return Indicator(Function.ATR, (n,))


def adx(n: int = 14) -> Indicator:
    return Indicator(Function.ADX, (n,))


MACD = Indicator(Function.MACD, (12, 26, 9), 0)
MACD_SIGNAL = Indicator(Function.MACD, (12, 26, 9), 1)
MACD_HIST = Indicator(Function.MACD, (12, 26, 9), 2)
BB_UPPER = Indicator(Function.BBANDS, (20, 2.0), 0)
BB_MIDDLE = Indicator(Function.BBANDS, (20, 2.0), 1)
BB_LOWER = Indicator(Function.BBANDS, (20, 2.0), 2)
BW = Indicator(Function.BANDWIDTH, (20, 2.0))
TENKAN = Indicator(Function.ICHIMOKU, (9, 26, 52), 0)
KIJUN = Indicator(Function.ICHIMOKU, (9, 26, 52), 1)
SPAN_A = Indicator(Function.ICHIMOKU, (9, 26, 52), 2)
SPAN_B = Indicator(Function.ICHIMOKU, (9, 26, 52), 3)


def _ichimoku(candles: CandleWindow, params: tuple[float, ...]) -> tuple[FloatArray, ...]:
    tenkan_n, kijun_n, span_b_n = (int(p) for p in params)

    def midpoint(n: int) -> FloatArray:
        return (ta.rolling_max(candles.high, n) + ta.rolling_min(candles.low, n)) / 2

    tenkan, kijun = midpoint(tenkan_n), midpoint(kijun_n)
    displacement = kijun_n  # the cloud under the current candle was drawn 26 candles ago
    span_a = np.full_like(tenkan, np.nan)
    span_b = np.full_like(tenkan, np.nan)
    if len(tenkan) > displacement:
        span_a[displacement:] = ((tenkan + kijun) / 2)[:-displacement]
        span_b[displacement:] = midpoint(span_b_n)[:-displacement]
    return tenkan, kijun, span_a, span_b


def _bandwidth(candles: CandleWindow, params: tuple[float, ...]) -> tuple[FloatArray, ...]:
    upper, middle, lower = ta.bbands(candles.close, int(params[0]), params[1])
    return (ratio(upper - lower, middle),)


_COMPUTE: Mapping[Function, Callable[[CandleWindow, tuple[float, ...]], tuple[FloatArray, ...]]] = {
    Function.EMA: lambda w, p: (ta.ema(w.close, int(p[0])),),
    Function.SMA: lambda w, p: (ta.sma(w.close, int(p[0])),),
    Function.VOLUME_SMA: lambda w, p: (ta.sma(w.volume, int(p[0])),),
    Function.RSI: lambda w, p: (ta.rsi(w.close, int(p[0])),),
    Function.ATR: lambda w, p: (ta.atr(w.high, w.low, w.close, int(p[0])),),
    Function.ADX: lambda w, p: (ta.adx(w.high, w.low, w.close, int(p[0])),),
    Function.MACD: lambda w, p: ta.macd(w.close, int(p[0]), int(p[1]), int(p[2])),
    Function.BBANDS: lambda w, p: ta.bbands(w.close, int(p[0]), p[1]),
    Function.BANDWIDTH: _bandwidth,
    Function.ICHIMOKU: _ichimoku,
}


class IndicatorCache:
    """Indicators of one window, each TA-Lib call made once whichever strategies ask.

    Values are masked to NaN before their converged row, so a rule can never act on a
    seed-dominated value, whatever history the window happens to have.
    """

    def __init__(self, candles: CandleWindow, *, tolerance: float = DEFAULT_SEED_TOLERANCE) -> None:
        self.candles = candles
        self.tolerance = tolerance
        self._outputs: dict[tuple[Function, tuple[float, ...]], tuple[FloatArray, ...]] = {}
        self._series: dict[Indicator, FloatArray] = {}
        self.calls = 0
        """TA-Lib computations made so far (what sharing saves is visible in tests)."""

    def __getitem__(self, indicator: Indicator) -> FloatArray:
        series = self._series.get(indicator)
        if series is None:
            key = (indicator.function, indicator.params)
            outputs = self._outputs.get(key)
            if outputs is None:
                outputs = _COMPUTE[indicator.function](self.candles, indicator.params)
                self._outputs[key] = outputs
                self.calls += 1
            series = outputs[indicator.output].copy()
            series[: indicator.rows(self.tolerance) - 1] = np.nan
            series.setflags(write=False)
            self._series[indicator] = series
        return series


class UndeclaredIndicatorError(LookupError):
    """A strategy read an indicator it did not declare: its warm-up would be a lie."""


class IndicatorView:
    """The indicators one strategy declared, and nothing else."""

    def __init__(self, cache: IndicatorCache, declared: frozenset[Indicator]) -> None:
        self._cache = cache
        self._declared = declared
        self.higher: IndicatorView | None = None
        """The higher timeframe's indicators, for rules that declare ``higher_reads``."""

    def __getitem__(self, indicator: Indicator) -> FloatArray:
        if indicator not in self._declared:
            raise UndeclaredIndicatorError(indicator.label)
        return self._cache[indicator]

    def values_at(self, row: int) -> dict[str, float]:
        """Every declared indicator's value at ``row``, by label (signal metadata)."""
        return {
            indicator.label: float(self._cache[indicator][row])
            for indicator in sorted(self._declared, key=lambda i: i.label)
        }
