"""One trigger → the signals of the candle that just closed.

The live side of the one code path (STRATEGIES.md 6): the same ``evaluate`` and central
validation as the backtest, on a window read through the Data Manager, keeping only the
last row's decision. Per trigger:

1. the enabled strategies for the (symbol, interval), with their parameters;
2. one read of exactly the largest ``rows_needed()`` plus the margin, ending at the
   triggering candle (socket) or before the candle now forming (extractor) — so the last
   row is always a closed candle;
3. indicators computed once for the window and shared; the higher timeframe and the
   relative-strength universe read only when a strategy needing them is enabled;
4. each strategy evaluated; skips and rejections counted per (strategy, reason).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from petrosa.contracts import Interval
from petrosa.contracts.signals import Signal
from petrosa.tabot import (
    CandleWindow,
    IndicatorCache,
    NotEvaluableError,
    Rejection,
    Strategy,
    StrategyContractError,
    candle_signal,
    evaluate,
    higher_interval,
    higher_rows_needed,
    relative_strength,
)
from petrosa.tabot.service.candles import CandleReader, after_last_gap
from petrosa.tabot.service.config import ConfigSnapshot, StrategySetting
from petrosa.tabot.service.metrics import Metrics
from petrosa.tabot.service.triggers import Trigger

log = logging.getLogger(__name__)

Clock = Callable[[], float]
"""Wall-clock seconds since the epoch (only to tell which candle is still forming)."""


class CandleNotStored(Exception):
    """The triggering closed candle is not in the Data Manager yet: try again later."""


@dataclass
class RunResult:
    signals: list[Signal] = field(default_factory=list)
    """Buy/sell signals and alerts of the last closed candle, in catalogue order."""
    rows: int = 0
    last_open_time: int | None = None
    read_s: float = 0.0
    evaluate_s: float = 0.0


@dataclass(frozen=True)
class _Job:
    strategy: Strategy[Any]
    setting: StrategySetting


class Runner:
    def __init__(
        self, reader: CandleReader, metrics: Metrics, *, margin: int, clock: Clock = time.time
    ) -> None:
        self.reader = reader
        self.metrics = metrics
        self.margin = margin
        self.clock = clock

    async def run(self, trigger: Trigger, config: ConfigSnapshot) -> RunResult:
        result = RunResult()
        jobs = [
            _Job(s, setting)
            for s, setting in config.strategies_for(trigger.symbol, trigger.interval)
        ]
        if not jobs:
            return result
        interval = trigger.interval
        rows = max(job.strategy.rows_needed(job.setting.params) for job in jobs) + self.margin
        end_ms = self._end_ms(trigger)
        started = time.perf_counter()
        window = await self.reader.window(trigger.symbol, interval, rows, end_ms)
        if trigger.candle_open_time is not None and (
            len(window) == 0 or int(window.open_time[-1]) != trigger.candle_open_time
        ):
            raise CandleNotStored(
                f"{trigger.symbol} {interval.value} candle {trigger.candle_open_time} not stored"
            )
        window = after_last_gap(window)
        extras = await self._extra_inputs(jobs, window, trigger, config)
        result.read_s = time.perf_counter() - started
        result.rows = len(window)
        if len(window):
            result.last_open_time = int(window.open_time[-1])

        started = time.perf_counter()
        shared = IndicatorCache(window)
        for job in jobs:
            special = extras.get(job.strategy.id)
            indicators = shared if special is None else IndicatorCache(special)
            signal = self._evaluate(job, indicators, trigger)
            if signal is not None:
                result.signals.append(signal)
        result.evaluate_s = time.perf_counter() - started
        self.metrics.read_seconds.observe(result.read_s)
        self.metrics.evaluation_seconds.observe(result.evaluate_s)
        return result

    def _end_ms(self, trigger: Trigger) -> int:
        """Exclusive bound on open times: the triggering candle's successor, or the open
        time of the candle forming now (every row before it has closed)."""
        step = trigger.interval.milliseconds
        assert step is not None  # 1M is refused by the configuration
        if trigger.candle_open_time is not None:
            return trigger.candle_open_time + step
        return trigger.interval.floor(int(self.clock() * 1000))

    def _evaluate(self, job: _Job, indicators: IndicatorCache, trigger: Trigger) -> Signal | None:
        strategy, params = job.strategy, job.setting.params
        try:
            evaluation = evaluate(strategy, indicators, params)
        except NotEvaluableError as error:
            self.metrics.skipped.labels(strategy.id, error.reason).inc()
            log.debug("%s", error)
            return None
        except StrategyContractError:
            # A defect of the strategy, not the market: loud, counted, never published.
            log.exception("strategy %s broke its contract", strategy.id)
            self.metrics.skipped.labels(strategy.id, "contract_error").inc()
            return None
        self.metrics.evaluations.labels(strategy.id).inc()
        refused = int(evaluation.rejection[-1])
        if refused:
            self.metrics.rejected.labels(strategy.id, Rejection(refused).reason).inc()
            return None
        if evaluation.last() is None:
            return None
        signal = candle_signal(
            strategy,
            evaluation,
            indicators,
            row=-1,
            symbol=trigger.symbol,
            market=trigger.market,
            params=params,
        )
        signal.metadata["config"] = {
            "strategy_config_version": job.setting.version,
            "params": params.model_dump(mode="json"),
        }
        return signal

    async def _extra_inputs(
        self, jobs: list[_Job], window: CandleWindow, trigger: Trigger, config: ConfigSnapshot
    ) -> dict[str, CandleWindow]:
        """Windows with the higher timeframe or relative strength, for the strategies that
        read them (a strategy lacking them is skipped by ``evaluate`` with the reason)."""
        extras: dict[str, CandleWindow] = {}
        if len(window) == 0:
            return extras
        for job in jobs:
            strategy, params = job.strategy, job.setting.params
            if strategy.higher_reads is not None:
                higher = await self._higher(strategy, params, window, trigger.symbol)
                if higher is not None:
                    extras[strategy.id] = dataclasses.replace(window, higher=higher)
            elif strategy.needs_relative_strength:
                strength = await self._relative_strength(strategy, params, window, trigger, config)
                extras[strategy.id] = dataclasses.replace(window, relative_strength=strength)
        return extras

    async def _higher(
        self, strategy: Strategy[Any], params: Any, window: CandleWindow, symbol: str
    ) -> CandleWindow | None:
        chosen: Interval | None = getattr(params, "htf", None)
        htf = chosen or higher_interval(window.interval)
        warm_up = strategy.higher_warm_up(params)
        assert warm_up is not None
        rows = higher_rows_needed(window.interval, htf, params.cooldown_candles + 2, warm_up)
        # HTF candles opening before the base candle's close; align_higher keeps only those
        # closed by then, so a higher candle still forming is never read.
        end_ms = int(window.close_time[-1]) + 1
        higher = await self.reader.window(symbol, htf, rows, end_ms)
        if len(higher) < warm_up:
            self.metrics.skipped.labels(strategy.id, "higher_too_few_rows").inc()
            return None
        return after_last_gap(higher)

    async def _relative_strength(
        self,
        strategy: Strategy[Any],
        params: Any,
        window: CandleWindow,
        trigger: Trigger,
        config: ConfigSnapshot,
    ) -> Any:
        universe_symbols = tuple(params.rs_universe or config.symbols)
        rows = strategy.rows_needed(params)
        end_ms = int(window.open_time[-1]) + window.step_ms
        universe = {trigger.symbol: window}
        for symbol in universe_symbols:
            if symbol not in universe:
                universe[symbol] = after_last_gap(
                    await self.reader.window(symbol, window.interval, rows, end_ms)
                )
        return relative_strength(
            universe,
            trigger.symbol,
            passing_rank=params.rs_min,
            min_symbols=params.min_rs_universe,
            benchmark=params.rs_benchmark,
            horizons=params.rs_horizons,
            weights=params.rs_weights,
        )
