"""What a candle strategy is, and the one evaluation path live runners and backtests share.

A ``Strategy`` is declarative: an id and version, its sides, a frozen parameter model with
defaults, ``reads`` (the indicators it uses and the deepest offset it reads each at, plus
the deepest price offset) and ``rule``, one vectorised function from a candle window and
the shared indicators to, per side, the condition C(t) with the levels and confidence that
go with it. Everything else is the framework's, identical for every strategy:

- warm-up W₀ derived from ``reads`` (STRATEGIES.md 2.3), the window it needs W₀ + 1 + K;
- edge triggering (fire at t when C(t) and not C(t−1)) and the cooldown (no signal when an
  edge fired in the K previous candles), computed from the window alone;
- central validation of every fired decision (``petrosa.tabot.validation``).

``evaluate`` returns per-candle arrays over the whole window; the live runner reads the
last row, the backtest every row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from petrosa.contracts import Interval
from petrosa.tabot.indicators import (
    DEFAULT_SEED_TOLERANCE,
    Indicator,
    IndicatorCache,
    IndicatorView,
)
from petrosa.tabot.series import lag_bool
from petrosa.tabot.validation import (
    Rejection,
    StrategyContractError,
    ValidationBounds,
    check_alert_confidence,
    check_levels,
)
from petrosa.tabot.window import CandleWindow

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_COOLDOWN_CANDLES = 5


class Side(IntEnum):
    """What a fired condition asks for. Alerts trade nothing (STRATEGIES.md 5)."""

    SELL = -1
    BUY = 1
    ALERT = 2

    @property
    def action(self) -> str:
        return self.name.lower()


class StrategyParams(BaseModel):
    """Settings every strategy has; each strategy's model adds its own rule's numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeframes: tuple[Interval, ...] | None = Field(
        None, description="Intervals it runs on; None: every interval of the service"
    )
    cooldown_candles: int = Field(
        DEFAULT_COOLDOWN_CANDLES,
        ge=0,
        le=500,
        description="K: no signal if an edge fired in the K previous candles",
    )
    bounds: ValidationBounds = Field(default_factory=ValidationBounds)


P = TypeVar("P", bound=StrategyParams)


@dataclass(frozen=True)
class Reads:
    """How deep a rule reads: each indicator at its deepest offset, and the deepest
    offset of a raw price or volume (``l[4]`` is offset 4)."""

    indicators: Mapping[Indicator, int]
    price_depth: int = 0

    def warm_up(self, tolerance: float = DEFAULT_SEED_TOLERANCE) -> int:
        """W₀: the largest of (an indicator's rows + its deepest offset) and
        (deepest price offset + 1)."""
        deepest = [indicator.rows(tolerance) + k for indicator, k in self.indicators.items()]
        return max([self.price_depth + 1, *deepest])


@dataclass(frozen=True)
class Setup:
    """One side of a rule: where its condition holds, and the levels and confidence it
    would publish there (values elsewhere are ignored). Alerts have no levels."""

    condition: BoolArray
    confidence: FloatArray
    stop_loss: FloatArray | None = None
    take_profit: FloatArray | None = None


Rule = Callable[[CandleWindow, IndicatorView, P], Mapping[Side, Setup]]


class NotEvaluableError(ValueError):
    """The window cannot be evaluated by this strategy (counted, per reason, as skipped)."""

    def __init__(self, strategy_id: str, reason: str, detail: str) -> None:
        super().__init__(f"{strategy_id}: {reason}: {detail}")
        self.strategy_id = strategy_id
        self.reason = reason


@dataclass(frozen=True)
class Strategy(Generic[P]):
    """One catalogue entry of STRATEGIES.md 3."""

    id: str
    version: int
    sides: tuple[Side, ...]
    params_type: type[P]
    reads: Callable[[P], Reads]
    rule: Rule[P]
    summary: str
    higher_reads: Callable[[P], Reads] | None = None
    """For rules that read a higher timeframe: what they read there."""
    needs_relative_strength: bool = False

    @property
    def defaults(self) -> P:
        return self.params_type()

    def params(self, values: Mapping[str, Any] | None = None) -> P:
        """Validated parameters: the defaults with ``values`` applied."""
        return self.params_type.model_validate(dict(values or {}))

    def warm_up(self, params: P | None = None, tolerance: float = DEFAULT_SEED_TOLERANCE) -> int:
        """W₀ for these parameters."""
        return self.reads(params or self.defaults).warm_up(tolerance)

    def rows_needed(
        self, params: P | None = None, tolerance: float = DEFAULT_SEED_TOLERANCE
    ) -> int:
        """Rows a window must have for its last candle to be evaluated: W₀ + 1 + K."""
        chosen = params or self.defaults
        return self.warm_up(chosen, tolerance) + 1 + chosen.cooldown_candles

    def higher_warm_up(
        self, params: P | None = None, tolerance: float = DEFAULT_SEED_TOLERANCE
    ) -> int | None:
        """W₀ on the higher timeframe, or None when the rule reads none."""
        if self.higher_reads is None:
            return None
        return self.higher_reads(params or self.defaults).warm_up(tolerance)

    def runs_on(self, interval: Interval, params: P | None = None) -> bool:
        timeframes = (params or self.defaults).timeframes
        return timeframes is None or interval in timeframes


@dataclass(frozen=True)
class Evaluation:
    """Per-candle outcome of one strategy over one window.

    ``side`` holds the published decisions (``Side`` values, 0 where none); a fired
    decision that validation refused has side 0 and its ``rejection`` code. Rows before
    ``first_row`` were not evaluated (not enough history for edge and cooldown).
    """

    strategy_id: str
    side: npt.NDArray[np.int8]
    stop_loss: FloatArray
    take_profit: FloatArray
    confidence: FloatArray
    rejection: npt.NDArray[np.int8]
    first_row: int
    warm_up: int

    def rows(self) -> npt.NDArray[np.intp]:
        """Rows with a published decision."""
        return np.flatnonzero(self.side != 0)

    def rejected_rows(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.rejection != 0)

    def at(self, row: int) -> Decision | None:
        """The decision at ``row`` (negative counts from the end), if one was published."""
        side = int(self.side[row])
        if side == 0:
            return None
        index = row if row >= 0 else len(self.side) + row

        def level(values: FloatArray) -> float | None:
            value = float(values[index])
            return None if np.isnan(value) else value

        return Decision(
            row=index,
            side=Side(side),
            stop_loss=level(self.stop_loss),
            take_profit=level(self.take_profit),
            confidence=float(self.confidence[index]),
        )

    def last(self) -> Decision | None:
        """What the live runner publishes: the decision on the candle that just closed."""
        return self.at(-1) if len(self.side) else None

    def rejections(self) -> dict[str, int]:
        """Refused decisions by reason."""
        codes, counts = np.unique(self.rejection[self.rejection != 0], return_counts=True)
        return {Rejection(int(c)).reason: int(n) for c, n in zip(codes, counts, strict=True)}


@dataclass(frozen=True)
class Decision:
    """One published decision; the price is the close of candle ``row``."""

    row: int
    side: Side
    stop_loss: float | None
    take_profit: float | None
    confidence: float


def evaluate(
    strategy: Strategy[P],
    indicators: IndicatorCache,
    params: P | None = None,
    *,
    higher: IndicatorCache | None = None,
) -> Evaluation:
    """Run ``strategy`` over the cache's window: rule, edge, cooldown, validation.

    Raises ``NotEvaluableError`` when the window is too short, has a gap, or lacks the
    higher-timeframe candles or relative strength the rule needs; raises
    ``StrategyContractError`` when the strategy's output is malformed.
    """
    chosen = params or strategy.defaults
    candles = indicators.candles
    reads = strategy.reads(chosen)
    warm_up = reads.warm_up(indicators.tolerance)
    cooldown = chosen.cooldown_candles
    first_row = warm_up + cooldown
    _check_window(strategy, candles, first_row + 1)
    view = IndicatorView(indicators, frozenset(reads.indicators))
    if strategy.higher_reads is not None:
        if higher is None:
            if candles.higher is None:
                raise NotEvaluableError(strategy.id, "no_higher_timeframe", "no HTF candles")
            higher = IndicatorCache(candles.higher, tolerance=indicators.tolerance)
        view.higher = IndicatorView(higher, frozenset(strategy.higher_reads(chosen).indicators))
    if strategy.needs_relative_strength and candles.relative_strength is None:
        raise NotEvaluableError(strategy.id, "no_relative_strength", "no RS series")

    setups = strategy.rule(candles, view, chosen)
    return _decide(strategy, candles.close, setups, first_row, warm_up, cooldown, chosen.bounds)


def _check_window(strategy: Strategy[Any], candles: CandleWindow, needed: int) -> None:
    if len(candles) < needed:
        raise NotEvaluableError(strategy.id, "too_few_rows", f"{len(candles)} rows, needs {needed}")
    gap = candles.first_gap()
    if gap is not None:
        raise NotEvaluableError(strategy.id, "gap", f"open times not consecutive at row {gap}")


def _decide(
    strategy: Strategy[Any],
    close: FloatArray,
    setups: Mapping[Side, Setup],
    first_row: int,
    warm_up: int,
    cooldown: int,
    bounds: ValidationBounds,
) -> Evaluation:
    rows = len(close)
    evaluated = np.arange(rows) >= first_row
    edges: dict[Side, BoolArray] = {}
    for side, setup in setups.items():
        if side not in strategy.sides:
            raise StrategyContractError(strategy.id, -1, f"undeclared side {side.action}")
        condition = np.asarray(setup.condition, dtype=np.bool_)
        edges[side] = condition & ~lag_bool(condition, 1)
    any_edge = np.logical_or.reduce(list(edges.values())) if edges else np.zeros(rows, np.bool_)
    cooling = _edge_in_previous(any_edge, cooldown)

    sides = np.zeros(rows, dtype=np.int8)
    stop = np.full(rows, np.nan)
    target = np.full(rows, np.nan)
    confidence = np.full(rows, np.nan)
    for which, edge in edges.items():
        fired = edge & ~cooling & evaluated
        clash = fired & (sides != 0)
        if clash.any():
            row = int(np.flatnonzero(clash)[0])
            raise StrategyContractError(strategy.id, row, "two sides fired on one candle")
        setup = setups[which]
        sides[fired] = int(which)
        confidence[fired] = setup.confidence[fired]
        if which is Side.ALERT:
            check_alert_confidence(strategy.id, fired, confidence)
            continue
        if setup.stop_loss is None or setup.take_profit is None:
            raise StrategyContractError(strategy.id, -1, f"{which.action} without levels")
        stop[fired] = setup.stop_loss[fired]
        target[fired] = setup.take_profit[fired]

    direction = np.where(np.abs(sides) == 1, sides, 0).astype(np.int8)
    rejection = check_levels(strategy.id, direction, close, stop, target, confidence, bounds)
    refused = rejection != 0
    sides[refused] = 0
    for values in (stop, target, confidence):
        values[refused] = np.nan
    return Evaluation(
        strategy_id=strategy.id,
        side=sides,
        stop_loss=stop,
        take_profit=target,
        confidence=confidence,
        rejection=rejection,
        first_row=first_row,
        warm_up=warm_up,
    )


def _edge_in_previous(edge: BoolArray, k: int) -> BoolArray:
    """Rows where ``edge`` held on at least one of the k previous rows."""
    if k == 0:
        return np.zeros_like(edge)
    counts = np.concatenate(([0], np.cumsum(edge, dtype=np.int64)))
    rows = np.arange(len(edge))
    # edges in rows t−k … t−1 = counts[t] − counts[max(t−k, 0)]
    return (counts[rows] - counts[np.maximum(rows - k, 0)]) > 0


def reward_target(close: FloatArray, stop: FloatArray, multiple: float, side: Side) -> FloatArray:
    """``TP = c ± m·R`` with R = |c − SL|: + for buys, − for sells."""
    return close + side.value * multiple * np.abs(close - stop)
