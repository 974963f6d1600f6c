"""The candles a backtest loads: the same inputs the live runner reads (STRATEGIES.md 6).

Per symbol: the base interval from W₀ + 1 + K rows before the first evaluated candle (the
largest of the chosen strategies), so the first candle of the range is decided on exactly
the history live would have fetched; the higher timeframe of
``multi_timeframe_trend_continuation`` from its own warm-up before that; and, for
``minervini_trend_template``, its relative-strength universe over the same span.

Where the candles come from is a port (``CandleSource``): the Data Manager
(``petrosa.tabot.backtest.source``) or a Binance archive folder (read by the command line,
which may use the extractor's parser).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from petrosa.contracts import Interval
from petrosa.tabot.higher_timeframe import higher_interval
from petrosa.tabot.relative_strength import relative_strength
from petrosa.tabot.strategy import Strategy, StrategyParams
from petrosa.tabot.window import CandleWindow

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class CandleSource(Protocol):
    """Where a backtest reads closed candles from."""

    async def candles(
        self, symbol: str, interval: Interval, start_ms: int, end_ms: int
    ) -> CandleWindow:
        """Candles with ``start_ms ≤ open time < end_ms``, in open-time order (gaps allowed)."""
        ...


@dataclass(frozen=True)
class Chosen:
    """A strategy with the parameters the backtest runs it with."""

    strategy: Strategy[Any]
    params: StrategyParams

    @classmethod
    def defaults(cls, strategy: Strategy[Any]) -> Chosen:
        return cls(strategy, strategy.defaults)

    def higher(self, interval: Interval) -> Interval | None:
        """The higher timeframe this strategy reads on ``interval``, or None."""
        if self.strategy.higher_reads is None:
            return None
        configured: Interval | None = getattr(self.params, "htf", None)
        return configured or higher_interval(interval)


@dataclass(frozen=True)
class History:
    """Everything loaded for one symbol; ``first_row`` is the first candle in the range."""

    symbol: str
    candles: CandleWindow
    first_row: int
    higher: Mapping[Interval, CandleWindow]
    strength: Mapping[str, FloatArray]
    """Relative strength per strategy id (strategies that need it)."""

    @functools.cached_property
    def shared(self) -> CandleWindow:
        """The candles with the first higher timeframe and RS series attached: every
        strategy whose needs they meet evaluates on this one window, sharing indicators."""
        return dataclasses.replace(
            self.candles,
            higher=next(iter(self.higher.values()), None),
            relative_strength=next(iter(self.strength.values()), None),
        )

    def window_for(self, chosen: Chosen) -> tuple[object, CandleWindow]:
        """The candles as this strategy sees them, with a key naming them (the same key
        for the same window, so indicator caches can be shared by key)."""
        higher_tf = chosen.higher(self.candles.interval)
        strength = self.strength.get(chosen.strategy.id)
        shared = self.shared
        higher = None if higher_tf is None else self.higher.get(higher_tf)
        if (higher is None or higher is shared.higher) and (
            strength is None or strength is shared.relative_strength
        ):
            return "shared", shared
        own = dataclasses.replace(self.candles, higher=higher, relative_strength=strength)
        return chosen.strategy.id, own


def rows_before(chosen: Sequence[Chosen]) -> int:
    """W₀ + 1 + K of the deepest strategy: rows loaded before the range."""
    return max((c.strategy.rows_needed(c.params) for c in chosen), default=0)


async def load(
    source: CandleSource,
    chosen: Sequence[Chosen],
    symbols: Sequence[str],
    interval: Interval,
    start_ms: int,
    end_ms: int,
) -> dict[str, History]:
    """Each symbol's history for the strategies in ``chosen`` (which all run on ``interval``)."""
    step = _step(interval)
    load_start = start_ms - rows_before(chosen) * step
    base = {s: await source.candles(s, interval, load_start, end_ms) for s in symbols}
    higher_needs: dict[Interval, int] = {}
    for c in chosen:
        higher_tf = c.higher(interval)
        warm_up = c.strategy.higher_warm_up(c.params)
        if higher_tf is not None and warm_up is not None:
            higher_needs[higher_tf] = max(higher_needs.get(higher_tf, 0), warm_up + 1)
    higher = {
        (symbol, tf): await source.candles(symbol, tf, load_start - rows * _step(tf), end_ms)
        for tf, rows in higher_needs.items()
        for symbol in symbols
    }
    strength = {
        symbol: await _strength(source, chosen, symbol, base, interval, load_start, end_ms)
        for symbol in symbols
    }
    return {
        symbol: History(
            symbol=symbol,
            candles=candles,
            first_row=int(np.searchsorted(candles.open_time, start_ms)),
            higher={tf: higher[symbol, tf] for tf in higher_needs if len(higher[symbol, tf])},
            strength=strength[symbol],
        )
        for symbol, candles in base.items()
    }


async def _strength(
    source: CandleSource,
    chosen: Sequence[Chosen],
    symbol: str,
    base: Mapping[str, CandleWindow],
    interval: Interval,
    start_ms: int,
    end_ms: int,
) -> dict[str, FloatArray]:
    """RS of ``symbol`` for each strategy that needs it, among its universe: its
    ``rs_universe`` setting, else the symbols of the run, plus the benchmark the rule falls
    back to with a small universe."""
    result: dict[str, FloatArray] = {}
    for c in chosen:
        if not c.strategy.needs_relative_strength:
            continue
        params: Any = c.params
        names = list(params.rs_universe or base)
        for extra in (symbol, params.rs_benchmark):
            if extra not in names:
                names.append(extra)
        universe = {
            name: base[name]
            if name in base
            else await source.candles(name, interval, start_ms, end_ms)
            for name in names
        }
        universe = {name: candles for name, candles in universe.items() if len(candles)}
        if symbol not in universe:
            continue
        result[c.strategy.id] = relative_strength(
            universe,
            symbol,
            passing_rank=params.rs_min,
            min_symbols=params.min_rs_universe,
            benchmark=params.rs_benchmark,
            horizons=params.rs_horizons,
            weights=params.rs_weights,
        )
    return result


def _step(interval: Interval) -> int:
    step = interval.milliseconds
    if step is None:
        raise ValueError(f"interval {interval.value} has no fixed length")
    return step


def segments(candles: CandleWindow) -> list[tuple[int, int]]:
    """Row ranges ``[start, stop)`` of consecutive candles: a gap ends one and starts the
    next, as the live runner refuses a window with a gap in it."""
    if len(candles) == 0:
        return []
    breaks = np.flatnonzero(np.diff(candles.open_time) != candles.step_ms) + 1
    edges = [0, *breaks.tolist(), len(candles)]
    return list(itertools.pairwise(edges))


Columns = tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]
"""Open time, open, high, low, close, volume."""


def from_columns(interval: Interval, parts: Sequence[Columns]) -> CandleWindow:
    """A window from column chunks in any order, sorted by open time, repeats dropped."""
    if not parts:
        return empty(interval)
    open_time, *values = (np.concatenate(column) for column in zip(*parts, strict=True))
    order = np.argsort(open_time, kind="stable")
    open_time = open_time[order]
    keep = np.append(open_time[1:] != open_time[:-1], True)
    picked = order[keep]
    return CandleWindow.from_arrays(interval, open_time[keep], *(v[picked] for v in values))


def binance_columns(rows: Sequence[Sequence[Any]]) -> Columns:
    """Open time and OHLCV columns of Binance kline arrays (decimals as strings or numbers)."""
    count = len(rows)
    table = list(zip(*rows, strict=False))

    def floats(index: int) -> FloatArray:
        return np.fromiter(map(float, table[index]), dtype=np.float64, count=count)

    open_time = np.fromiter(map(int, table[0]), dtype=np.int64, count=count)
    return (open_time, floats(1), floats(2), floats(3), floats(4), floats(5))


def from_binance_arrays(interval: Interval, rows: Sequence[Sequence[Any]]) -> CandleWindow:
    """A window from Binance kline arrays, sorted by open time, repeats dropped."""
    return from_columns(interval, [binance_columns(rows)] if rows else [])


def empty(interval: Interval) -> CandleWindow:
    none = np.zeros(0)
    return CandleWindow.from_arrays(interval, np.zeros(0, np.int64), none, none, none, none, none)
