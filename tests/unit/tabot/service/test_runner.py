"""The runner on in-memory candles: how many rows it reads (never a fixed 100), that the
last row is a closed candle, the signal it makes, and what it counts when it cannot run."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from petrosa.contracts import Interval, Market
from petrosa.contracts.signals import Signal, SignalAction
from petrosa.tabot import BY_ID, CATALOGUE, CandleWindow
from petrosa.tabot.service.candles import CandleReader
from petrosa.tabot.service.config import ConfigSnapshot, ServiceConfig, StrategySetting
from petrosa.tabot.service.metrics import Metrics
from petrosa.tabot.service.runner import CandleNotStored, Runner
from petrosa.tabot.service.triggers import Source, Trigger
from tests.unit.tabot.shapes import build, candle, flat

FIRES = build([*flat(40, swing=0.03), candle(100, 100.5, 95.5, 96)])
STEP = 15 * 60_000


class MemoryReader(CandleReader):
    """Serves one stored series the way the Data Manager does (newest ``rows`` before end)."""

    def __init__(self, stored: CandleWindow) -> None:
        self.stored = stored
        self.asked: list[tuple[str, Interval, int, int]] = []

    async def window(self, symbol: str, interval: Interval, rows: int, end_ms: int) -> CandleWindow:
        self.asked.append((symbol, interval, rows, end_ms))
        before = int(np.searchsorted(self.stored.open_time, end_ms, "left"))
        return self.stored.rows(max(0, before - rows), before)


def config(*strategy_ids: str) -> ConfigSnapshot:
    chosen = tuple(BY_ID[s] for s in strategy_ids) if strategy_ids else CATALOGUE
    return ConfigSnapshot(
        service=ServiceConfig(),
        service_version=3,
        symbols=("BTCUSDT",),
        timeframes=(Interval.M15,),
        enabled=chosen,
        settings={(s.id, "BTCUSDT"): StrategySetting(s.defaults, 0) for s in chosen},
    )


def runner(stored: CandleWindow, now_ms: int) -> tuple[Runner, MemoryReader, Metrics]:
    reader = MemoryReader(stored)
    metrics = Metrics()
    return Runner(reader, metrics, margin=2, clock=lambda: now_ms / 1000), reader, metrics


def trigger(open_time: int | None = None) -> Trigger:
    return Trigger(Source.EXTRACTOR, Market.FUTURES, "BTCUSDT", Interval.M15, open_time)


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_it_reads_the_largest_enabled_warm_up_plus_the_margin() -> None:
    run, reader, _ = runner(FIRES, int(FIRES.open_time[-1]) + STEP)
    await run.run(trigger(), config("bollinger_breakout_signals", "band_fade_reversal"))
    assert [asked[2] for asked in reader.asked] == [20 + 1 + 5 + 2]
    await run.run(trigger(), config())
    largest = max(s.rows_needed() for s in CATALOGUE)
    assert largest > 1_500  # EMA200 converged: far beyond the 100 rows of the old system
    assert reader.asked[-2][2] == largest + 2  # then the higher timeframe is read too
    assert reader.asked[-1][1] == Interval.H1


async def test_the_closed_candle_fires_with_the_contracts_fields() -> None:
    last_open = int(FIRES.open_time[-1])
    run, _, metrics = runner(FIRES, last_open + STEP + 1_000)
    result = await run.run(trigger(), config("bollinger_breakout_signals"))
    [signal] = result.signals
    assert signal.action is SignalAction.BUY
    assert (signal.candle_open_time, signal.event_time) == (last_open, last_open + STEP - 1)
    assert signal.metadata["config"]["params"]["base_confidence"] == 0.68
    assert (
        sample(
            metrics,
            "petrosa_tabot_strategy_evaluations_total",
            strategy="bollinger_breakout_signals",
        )
        == 1
    )
    # the engine takes it as it is
    assert Signal.model_validate_json(signal.model_dump_json()) == signal


async def test_a_candle_still_forming_is_never_the_last_row() -> None:
    forming_open = int(FIRES.open_time[-1])
    run, reader, _ = runner(FIRES, forming_open + STEP // 2)  # the firing candle is open
    result = await run.run(trigger(), config("bollinger_breakout_signals"))
    assert result.signals == []
    assert result.last_open_time == forming_open - STEP
    assert reader.asked[0][3] == forming_open


async def test_a_socket_trigger_waits_for_its_candle_to_be_stored() -> None:
    last_open = int(FIRES.open_time[-1])
    run, _, _ = runner(FIRES, last_open + 10 * STEP)
    exact = await run.run(trigger(last_open - STEP), config("bollinger_breakout_signals"))
    assert exact.last_open_time == last_open - STEP
    with pytest.raises(CandleNotStored):
        await run.run(trigger(last_open + STEP), config("bollinger_breakout_signals"))


async def test_too_few_rows_or_a_gap_is_counted_per_strategy_and_reason() -> None:
    short = FIRES.tail(20)
    run, _, metrics = runner(short, int(short.open_time[-1]) + STEP)
    assert (await run.run(trigger(), config("bollinger_breakout_signals"))).signals == []
    labels: dict[str, Any] = {"strategy": "bollinger_breakout_signals", "reason": "too_few_rows"}
    assert sample(metrics, "petrosa_tabot_strategy_skipped_total", **labels) == 1
    gapped_times = FIRES.open_time.copy()
    gapped_times[-10:] += STEP  # one candle missing ten rows from the end
    gapped = dataclasses.replace(FIRES, open_time=gapped_times)
    run, _, metrics = runner(gapped, int(gapped.open_time[-1]) + STEP)
    assert (await run.run(trigger(), config("bollinger_breakout_signals"))).rows == 10
    assert sample(metrics, "petrosa_tabot_strategy_skipped_total", **labels) == 1
