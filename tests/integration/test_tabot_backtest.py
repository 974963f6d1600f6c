"""The backtester reading candles from a real Data Manager process over HTTP.

Uses the ``dm_url`` fixture: a ``petrosa data-manager serve`` on each backend (SQLite file
always; MariaDB and PostgreSQL when their servers run). Candles are stored as Binance arrays,
read back through ``DataManagerCandles`` (the client's array pages) and must give exactly the
results of the same candles held in memory.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from petrosa.cli.main import app
from petrosa.client import DataManagerClient, SyncDataManagerClient
from petrosa.contracts import Interval
from petrosa.tabot import CATALOGUE
from petrosa.tabot.backtest import Chosen, DataManagerCandles, Spec, backtest
from petrosa.tabot.window import CandleWindow
from tests.unit.tabot.backtest.memory import MemoryCandles
from tests.unit.tabot.candles import random_walk, resample

pytestmark = pytest.mark.integration

ROWS = 3_000
FIRST = 2_000
DAY_MS = 86_400_000


def unique_symbol() -> str:
    return "BT" + uuid.uuid4().hex[:10].upper()


def binance_rows(candles: CandleWindow) -> list[list[Any]]:
    step = candles.step_ms
    return [
        [int(t), repr(float(o)), repr(float(h)), repr(float(low)), repr(float(c)),
         repr(float(v)), int(t) + step - 1, "0", 1, "0", "0", "0"]
        for t, o, h, low, c, v in zip(
            candles.open_time, candles.open, candles.high, candles.low, candles.close,
            candles.volume, strict=True,
        )
    ]  # fmt: skip


def store(dm_url: str, symbol: str) -> dict[Interval, CandleWindow]:
    base = random_walk(ROWS, seed=31, interval=Interval.M15)
    series = {Interval.M15: base, Interval.H1: resample(base, Interval.H1)}
    with SyncDataManagerClient(dm_url) as dm:
        for interval, candles in series.items():
            dm.insert_klines(symbol, interval, binance_rows(candles))
    return series


def test_backtest_from_the_data_manager_equals_the_same_candles_in_memory(dm_url: str) -> None:
    symbol = unique_symbol()
    series = store(dm_url, symbol)
    base = series[Interval.M15]
    spec = Spec((symbol,), Interval.M15, int(base.open_time[FIRST]), int(base.open_time[-1]) + 1)
    chosen = [Chosen.defaults(s) for s in CATALOGUE]

    async def from_store() -> list[dict[str, Any]]:
        async with DataManagerClient(dm_url) as client:
            source = DataManagerCandles(client, span_rows=700)  # several concurrent spans
            return [r.to_json() for r in await backtest(source, chosen, spec)]

    memory = MemoryCandles({(symbol, tf): candles for tf, candles in series.items()})
    expected = [r.to_json() for r in asyncio.run(backtest(memory, chosen, spec))]
    got = asyncio.run(from_store())
    assert got == expected
    assert sum(entry["trades"] for entry in got) > 0
    by_id = {entry["strategy_id"]: entry for entry in got}
    assert by_id["multi_timeframe_trend_continuation"]["skipped"] is None


def test_cli_reads_the_data_manager_and_reports_json(
    dm_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    symbol = unique_symbol()
    base = store(dm_url, symbol)[Interval.M15]
    monkeypatch.setenv("DATA_MANAGER_URL", dm_url)
    start, end = int(base.open_time[FIRST]), int(base.open_time[-1]) + 1
    arguments = ["tabot", "backtest", "--strategies", "momentum_pulse,range_break_pop",
                 "--symbols", symbol, "--interval", "15m", "--from", str(start),
                 "--to", str(end), "--json"]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [e["strategy_id"] for e in entries] == ["momentum_pulse", "range_break_pop"]
    assert all(e["skipped"] is None for e in entries)

    empty = int(base.open_time[0]) - 400 * DAY_MS
    arguments[arguments.index(str(start))] = str(int(empty))
    arguments[arguments.index(str(end))] = str(int(empty) + DAY_MS)
    missing = CliRunner().invoke(app, arguments)
    assert missing.exit_code == 2
    assert f"no 15m candles for {symbol} in the Data Manager" in missing.stderr
    assert np.isfinite(entries[0]["total_return"])
