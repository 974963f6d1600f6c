"""The backtest engine: the live strategy path run once over a whole history.

Per symbol and strategy: the loaded candles are cut at gaps (live refuses a window with a
gap, so the backtest does not evaluate across one), each piece is evaluated once by
``petrosa.tabot.evaluate`` — the live runner's function, with its edge, cooldown and central
validation — and the published decisions inside the requested range are kept. The
indicators of a piece are computed once and shared by every strategy, as live does per
window. The decisions then go through the fill simulator (``fills``) and the figures of
``metrics``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from petrosa.contracts import Interval, Market
from petrosa.contracts.market import DEFAULT_MARKET
from petrosa.contracts.signals import Signal
from petrosa.tabot.backtest import metrics
from petrosa.tabot.backtest.fills import FillRules, Prices, Trades, simulate
from petrosa.tabot.backtest.history import (
    CandleSource,
    Chosen,
    History,
    load,
    segments,
)
from petrosa.tabot.indicators import IndicatorCache
from petrosa.tabot.signals import candle_signal, candle_signal_id, strategy_version
from petrosa.tabot.strategy import Evaluation, NotEvaluableError, Side, evaluate
from petrosa.tabot.validation import Rejection
from petrosa.tabot.window import CandleWindow

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Spec:
    """What to backtest, besides the strategies: the range is ``[start_ms, end_ms)`` of
    candle open times."""

    symbols: tuple[str, ...]
    interval: Interval
    start_ms: int
    end_ms: int
    market: Market = DEFAULT_MARKET
    fills: FillRules = field(default_factory=FillRules)


@dataclass(frozen=True)
class Piece:
    """One gap-free stretch of a symbol's candles, evaluated by one strategy."""

    offset: int
    """Row of the symbol's history where the piece starts."""
    indicators: IndicatorCache
    evaluation: Evaluation


@dataclass(frozen=True)
class Decisions:
    """Published buy/sell decisions inside the range, in the history's row numbers."""

    rows: IntArray
    side: npt.NDArray[np.int8]
    stop_loss: FloatArray
    take_profit: FloatArray
    alerts: int
    rejections: dict[str, int]
    skipped: str | None
    """Why nothing was evaluated (the live runner's skip reasons), or None."""


@dataclass(frozen=True)
class SymbolResult:
    symbol: str
    signals: int
    trades: Trades
    times: IntArray
    equity: FloatArray


@dataclass(frozen=True)
class StrategyResult:
    """The figures of one strategy over every symbol of the run."""

    strategy_id: str
    strategy_version: str
    skipped: str | None
    signals: int
    alerts: int
    rejections: dict[str, int]
    symbols: tuple[SymbolResult, ...]
    times: IntArray
    equity: FloatArray
    stats: metrics.TradeStats
    total_return: float
    max_drawdown: float
    sharpe: float | None
    exposure: float

    @property
    def trades(self) -> int:
        return self.stats.trades

    def to_json(self) -> dict[str, Any]:
        exits: dict[str, int] = {}
        for result in self.symbols:
            for reason, count in result.trades.exits().items():
                exits[reason] = exits.get(reason, 0) + count
        return {
            "strategy_id": self.strategy_id,
            "strategy_version": self.strategy_version,
            "skipped": self.skipped,
            "signals": self.signals,
            "alerts": self.alerts,
            "rejections": self.rejections,
            "trades": self.stats.trades,
            "unfilled": sum(r.trades.unfilled for r in self.symbols),
            "win_rate": self.stats.win_rate,
            "total_return": self.total_return,
            "mean_trade_return": self.stats.mean_trade_return,
            "profit_factor": self.stats.profit_factor,
            "max_drawdown": self.max_drawdown,
            "sharpe": self.sharpe,
            "exposure": self.exposure,
            "exits": exits,
            "symbols": {
                r.symbol: {
                    "signals": r.signals,
                    "trades": len(r.trades),
                    "total_return": float(r.equity[-1] - 1) if len(r.equity) else 0.0,
                }
                for r in self.symbols
            },
        }


def pieces(chosen: Chosen, history: History, caches: dict[Any, IndicatorCache]) -> Iterator[Piece]:
    """Evaluations of every gap-free stretch long enough for the strategy.

    ``caches`` maps (window, stretch) to its indicators, so strategies evaluated on the same
    stretch share them; pass the same dict for every strategy of a symbol. Raises
    ``NotEvaluableError`` from the last stretch when none could be evaluated.
    """
    name, window = history.window_for(chosen)
    needed = chosen.strategy.rows_needed(chosen.params)
    last_error: NotEvaluableError | None = None
    evaluated = False
    for start, stop in segments(window):
        if stop <= history.first_row:
            continue
        key = (name, start, stop)
        cache = caches.get(key)
        if cache is None:
            cache = caches[key] = IndicatorCache(window.rows(start, stop))
        try:
            if stop - start < needed:
                raise NotEvaluableError(
                    chosen.strategy.id, "too_few_rows", f"{stop - start} rows, needs {needed}"
                )
            evaluation = evaluate(chosen.strategy, cache, chosen.params)
        except NotEvaluableError as error:
            last_error = error
            continue
        evaluated = True
        yield Piece(start, cache, evaluation)
    if not evaluated:
        raise last_error or NotEvaluableError(chosen.strategy.id, "no_candles", "none in range")


def decisions(chosen: Chosen, history: History, caches: dict[Any, IndicatorCache]) -> Decisions:
    """The strategy's published decisions on the symbol's range."""
    rows, sides, stops, targets = [], [], [], []
    alerts = 0
    rejected: dict[str, int] = {}
    try:
        for piece in pieces(chosen, history, caches):
            ev = piece.evaluation
            local_first = max(history.first_row - piece.offset, 0)
            side = ev.side[local_first:]
            trading = np.flatnonzero(np.abs(side) == 1) + local_first
            rows.append(trading + piece.offset)
            sides.append(ev.side[trading])
            stops.append(ev.stop_loss[trading])
            targets.append(ev.take_profit[trading])
            alerts += int(np.sum(side == Side.ALERT))
            codes, counts = np.unique(ev.rejection[local_first:], return_counts=True)
            for code, count in zip(codes.tolist(), counts.tolist(), strict=True):
                if code:
                    reason = Rejection(code).reason
                    rejected[reason] = rejected.get(reason, 0) + count
    except NotEvaluableError as error:
        return Decisions(_ints([]), np.zeros(0, np.int8), _floats([]), _floats([]), 0, {},
                         error.reason)  # fmt: skip
    return Decisions(
        rows=_ints(rows),
        side=np.concatenate(sides).astype(np.int8) if sides else np.zeros(0, np.int8),
        stop_loss=_floats(stops),
        take_profit=_floats(targets),
        alerts=alerts,
        rejections=rejected,
        skipped=None,
    )


def run(
    histories: Mapping[str, History], chosen: Sequence[Chosen], spec: Spec
) -> list[StrategyResult]:
    """Every chosen strategy over every loaded symbol (strategies not running on the
    interval are reported as skipped with reason ``timeframe``)."""
    grid = _grid(histories)
    caches: dict[str, dict[Any, IndicatorCache]] = {s: {} for s in histories}
    return [_run_one(c, histories, caches, spec, grid) for c in chosen]


def _run_one(
    chosen: Chosen,
    histories: Mapping[str, History],
    caches: Mapping[str, dict[Any, IndicatorCache]],
    spec: Spec,
    grid: IntArray,
) -> StrategyResult:
    fee = spec.fills.fee_rate
    version = strategy_version(chosen.strategy, chosen.params)
    if not chosen.strategy.runs_on(spec.interval, chosen.params):
        return _empty(chosen, version, "timeframe", grid)
    per_symbol: list[SymbolResult] = []
    alerts = 0
    rejected: dict[str, int] = {}
    skips: list[str] = []
    for symbol, history in histories.items():
        found = decisions(chosen, history, caches[symbol])
        if found.skipped is not None:
            skips.append(found.skipped)
            continue
        candles = history.candles
        prices = Prices(candles.open, candles.high, candles.low, candles.close)
        trades = simulate(prices, found.rows, found.side, found.stop_loss, found.take_profit,
                          spec.fills)  # fmt: skip
        equity = metrics.sleeve_equity(trades, candles.close, fee, history.first_row)
        times = candles.open_time[history.first_row :]
        per_symbol.append(SymbolResult(symbol, len(found.rows), trades, times, equity))
        alerts += found.alerts
        for reason, count in found.rejections.items():
            rejected[reason] = rejected.get(reason, 0) + count
    if not per_symbol:
        return _empty(chosen, version, skips[0] if skips else "no_candles", grid)
    equity = metrics.combine(grid, [(r.times, r.equity) for r in per_symbol])
    returns = np.concatenate([r.trades.net_return for r in per_symbol])
    exposure = [
        float(r.trades.held_rows().sum()) / len(r.times) if len(r.times) else 0.0
        for r in per_symbol
    ]
    return StrategyResult(
        strategy_id=chosen.strategy.id,
        strategy_version=version,
        skipped=None,
        signals=sum(r.signals for r in per_symbol),
        alerts=alerts,
        rejections=rejected,
        symbols=tuple(per_symbol),
        times=grid,
        equity=equity,
        stats=metrics.trade_stats(returns),
        total_return=float(equity[-1] - 1) if len(equity) else 0.0,
        max_drawdown=metrics.max_drawdown(equity),
        sharpe=metrics.daily_sharpe(grid, equity),
        exposure=float(np.mean(exposure)),
    )


def _empty(chosen: Chosen, version: str, reason: str, grid: IntArray) -> StrategyResult:
    return StrategyResult(
        strategy_id=chosen.strategy.id,
        strategy_version=version,
        skipped=reason,
        signals=0,
        alerts=0,
        rejections={},
        symbols=(),
        times=grid,
        equity=np.ones(len(grid)),
        stats=metrics.trade_stats(np.zeros(0)),
        total_return=0.0,
        max_drawdown=0.0,
        sharpe=None,
        exposure=0.0,
    )


def _grid(histories: Mapping[str, History]) -> IntArray:
    times = [h.candles.open_time[h.first_row :] for h in histories.values()]
    if len(times) == 1:
        return times[0]  # a window's open times are already sorted and unique
    return np.unique(np.concatenate(times)) if times else np.zeros(0, np.int64)


def running(chosen: Sequence[Chosen], interval: Interval) -> list[Chosen]:
    """The strategies whose ``timeframes`` include ``interval`` (what is loaded for)."""
    return [c for c in chosen if c.strategy.runs_on(interval, c.params)]


async def backtest(
    source: CandleSource, chosen: Sequence[Chosen], spec: Spec
) -> list[StrategyResult]:
    """Load the candles the chosen strategies need and run them (``run``)."""
    histories = await load(
        source, running(chosen, spec.interval), spec.symbols, spec.interval,
        spec.start_ms, spec.end_ms,
    )  # fmt: skip
    return run(histories, chosen, spec)


def signals(histories: Mapping[str, History], chosen: Sequence[Chosen], spec: Spec) -> list[Signal]:
    """The trading signals the backtest sees in the range, as the live service would publish
    them (same ``candle_signal``, so the same deterministic ids), in time order."""
    found: list[Signal] = []
    for symbol, history in histories.items():
        caches: dict[Any, IndicatorCache] = {}
        for c in running(chosen, spec.interval):
            try:
                for piece in pieces(c, history, caches):
                    ev = piece.evaluation
                    local_first = max(history.first_row - piece.offset, 0)
                    for row in np.flatnonzero(np.abs(ev.side[local_first:]) == 1) + local_first:
                        found.append(candle_signal(
                            c.strategy, ev, piece.indicators, row=int(row), symbol=symbol,
                            market=spec.market, params=c.params,
                        ))  # fmt: skip
            except NotEvaluableError:
                continue
    found.sort(key=lambda s: (s.timestamp, s.strategy_id, s.symbol))
    return found


async def backtest_signals(
    source: CandleSource, chosen: Sequence[Chosen], spec: Spec
) -> list[Signal]:
    """``signals`` after loading what the chosen strategies need from ``source``."""
    histories = await load(
        source, running(chosen, spec.interval), spec.symbols, spec.interval,
        spec.start_ms, spec.end_ms,
    )  # fmt: skip
    return signals(histories, chosen, spec)


def signal_ids(result: Decisions, chosen: Chosen, history: History, spec: Spec) -> list[str]:
    """Signal ids of decisions, computed like live (``candle_signal_id``) without building
    the whole signal."""
    version = strategy_version(chosen.strategy, chosen.params)
    times = history.candles.open_time
    return [
        candle_signal_id(
            strategy_id=chosen.strategy.id,
            strategy_version=version,
            market=spec.market,
            symbol=history.symbol,
            timeframe=spec.interval.value,
            candle_open_time=int(times[row]),
            action=Side(int(side)).action,
        )
        for row, side in zip(result.rows.tolist(), result.side.tolist(), strict=True)
    ]


def with_history(window: CandleWindow, symbol: str, first_row: int) -> History:
    """A ``History`` from a window already holding its higher timeframe and RS (tests)."""
    higher = {} if window.higher is None else {window.higher.interval: window.higher}
    strength: dict[str, FloatArray] = {}
    if window.relative_strength is not None:
        from petrosa.tabot import CATALOGUE

        strength = {s.id: window.relative_strength for s in CATALOGUE if s.needs_relative_strength}
    bare = dataclasses.replace(window, higher=None, relative_strength=None)
    return History(symbol, bare, first_row, higher, strength)


def _ints(parts: Sequence[npt.ArrayLike]) -> IntArray:
    return np.concatenate(parts).astype(np.int64) if len(parts) else np.zeros(0, np.int64)


def _floats(parts: Sequence[npt.ArrayLike]) -> FloatArray:
    return np.concatenate(parts).astype(np.float64) if len(parts) else np.zeros(0)
