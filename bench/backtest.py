"""Backtest benchmark: all 28 candle strategies over one year of 1m candles of one symbol.

1. Setup (not timed): a geometric random walk with volatility regimes and volume spikes,
   525,600 1m candles for the year plus the rows the strategies read before it, and the
   5m candles of the multi-timeframe rule, bulk-inserted into a SQLite Data Manager database.
2. A one-worker ``petrosa data-manager serve`` on it.
3. Timed, ``--rounds`` times, end to end as ``petrosa tabot backtest`` does it: read the
   candles through the client (``DataManagerCandles``: array pages, concurrent spans), then
   evaluate every strategy over the whole history, simulate the fills and compute the
   figures. Every strategy runs at 1m, including the two whose ``timeframes`` setting
   excludes it (``minervini_trend_template``, ``rsi_extreme_reversal``), so all 28 cost.
4. The floor: TA-Lib alone computing the shared indicator set (every distinct indicator
   the 28 declare) on the same arrays.

    python -m bench.backtest                 # one year, 3 rounds (~1 min)
    python -m bench.backtest --days 30 --rounds 1
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench._common import (
    BENCH_MARKET,
    KLINE_COLUMNS,
    BenchDatabase,
    Server,
    bench_database,
    console,
    data_manager,
    environment_line,
    migrate,
    new_table,
    run,
)
from petrosa.client import DataManagerClient
from petrosa.contracts import Interval
from petrosa.tabot import CATALOGUE
from petrosa.tabot.backtest import Chosen, DataManagerCandles, History, Spec, load, rows_before
from petrosa.tabot.backtest import run as run_backtest
from petrosa.tabot.indicators import _COMPUTE, Indicator
from petrosa.tabot.window import CandleWindow

SYMBOL = "BTCUSDT"
MINUTE_MS = 60_000
YEAR_START_MS = 1_704_067_200_000
"""2024-01-01 00:00 UTC."""
TARGET_S = 10.0


@dataclass(frozen=True)
class Round:
    read_s: float
    evaluate_s: float
    read_cpu_s: float
    """CPU of this process while reading (the Data Manager's is ``server_cpu_s``)."""
    evaluate_cpu_s: float
    server_cpu_s: float

    @property
    def total_s(self) -> float:
        return self.read_s + self.evaluate_s


def random_walk(rows: int, seed: int = 7) -> tuple[np.ndarray, ...]:
    """OHLCV of a 1m geometric random walk with regime changes and volume spikes."""
    rng = np.random.default_rng(seed)
    sigma = 0.0012
    regime = np.repeat(rng.uniform(0.3, 1.6, rows // 600 + 1), 600)[:rows]
    trend = np.repeat(rng.normal(0, sigma / 6, rows // 900 + 1), 900)[:rows]
    close = 40_000 * np.exp(np.cumsum(trend + rng.normal(0, sigma, rows) * regime))
    open_ = np.concatenate(([40_000.0], close[:-1]))
    wick = np.abs(rng.normal(0, sigma / 2, (2, rows))) * regime
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = rng.lognormal(3, 0.4, rows) * np.where(rng.random(rows) < 0.03, 6.0, 1.0)
    return open_, high, low, close, volume


def resample(open_time: np.ndarray, ohlcv: tuple[np.ndarray, ...], group: int) -> tuple[Any, ...]:
    count = len(open_time) // group
    o, h, low, c, v = (x[: count * group].reshape(count, group) for x in ohlcv)
    return (open_time[: count * group : group], o[:, 0], h.max(axis=1), low.min(axis=1),
            c[:, -1], v.sum(axis=1))  # fmt: skip


def fill(db: BenchDatabase, days: int, chosen: list[Chosen]) -> int:
    """Insert the 1m and 5m series directly (setup); returns the 1m rows stored."""
    before = rows_before(chosen) + 5 * 400  # and the 5m warm-up, in 1m rows
    first = YEAR_START_MS - before * MINUTE_MS
    first -= first % (5 * MINUTE_MS)
    rows = (YEAR_START_MS - first) // MINUTE_MS + days * 1440
    open_time = first + MINUTE_MS * np.arange(rows, dtype=np.int64)
    ohlcv = random_walk(rows)
    series = {
        Interval.M1: (open_time, *ohlcv),
        Interval.M5: resample(open_time, ohlcv, 5),
    }
    assert db.path is not None
    conn = sqlite3.connect(db.path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    columns = ", ".join(f'"{c}"' for c in KLINE_COLUMNS)
    sql = f"INSERT INTO klines ({columns}) VALUES ({', '.join('?' * len(KLINE_COLUMNS))})"
    for interval, (times, o, h, low, c, v) in series.items():
        step = interval.milliseconds
        assert step is not None
        conn.executemany(
            sql,
            (
                (BENCH_MARKET, SYMBOL, interval.value, int(t), float(a), float(b), float(d),
                 float(e), float(f), int(t) + step - 1, float(f) * float(e), 100, 0.0, 0.0)
                for t, a, b, d, e, f in zip(times, o, h, low, c, v, strict=True)
            ),
        )  # fmt: skip
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return rows


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _read(url: str, chosen: list[Chosen], spec: Spec) -> dict[str, History]:
    async with DataManagerClient(url) as client:
        return await load(
            DataManagerCandles(client), chosen, spec.symbols, spec.interval,
            spec.start_ms, spec.end_ms,
        )  # fmt: skip


def one_round(server: Server, chosen: list[Chosen], spec: Spec) -> tuple[Round, Any]:
    server_cpu, cpu, started = server.cpu_seconds(), _cpu(), time.perf_counter()
    histories = run(_read(server.base_url, chosen, spec))
    read_s, read_cpu = time.perf_counter() - started, _cpu() - cpu
    server_cpu = server.cpu_seconds() - server_cpu
    cpu, started = _cpu(), time.perf_counter()
    results = run_backtest(histories, chosen, spec)
    measured = Round(read_s, time.perf_counter() - started, read_cpu, _cpu() - cpu, server_cpu)
    return measured, (histories, results)


def talib_floor(candles: CandleWindow, higher: CandleWindow | None, rounds: int) -> float:
    """Seconds TA-Lib takes to compute every distinct indicator the strategies declare."""
    declared: set[Indicator] = set()
    higher_declared: set[Indicator] = set()
    for strategy in CATALOGUE:
        declared.update(strategy.reads(strategy.defaults).indicators)
        if strategy.higher_reads is not None:
            higher_declared.update(strategy.higher_reads(strategy.defaults).indicators)
    keys = {(i.function, i.params) for i in declared}
    higher_keys = {(i.function, i.params) for i in higher_declared}
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        for function, params in keys:
            _COMPUTE[function](candles, params)
        if higher is not None:
            for function, params in higher_keys:
                _COMPUTE[function](higher, params)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Backtest of all 28 strategies, 1m, one year.")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args(argv)
    chosen = [Chosen(s, s.params({"timeframes": None})) for s in CATALOGUE]
    spec = Spec((SYMBOL,), Interval.M1, YEAR_START_MS, YEAR_START_MS + options.days * 86_400_000)
    console.print(f"backtest benchmark · {environment_line()}")
    with bench_database("sqlite", "backtest") as db:
        migrate(db)
        started = time.perf_counter()
        stored = fill(db, options.days, chosen)
        console.print(
            f"stored {stored:,} 1m candles (+ 5m) in {time.perf_counter() - started:.1f} s"
        )
        with data_manager(db) as server:
            rounds = []
            for _ in range(options.rounds):
                measured, (histories, results) = one_round(server, chosen, spec)
                rounds.append(measured)
    history = histories[SYMBOL]
    in_range = len(history.candles) - history.first_row
    higher = next(iter(history.higher.values()), None)
    floor = talib_floor(history.candles, higher, options.rounds)
    best = min(rounds, key=lambda r: r.total_s)
    median_total = statistics.median(r.total_s for r in rounds)
    table = new_table(
        f"All {len(chosen)} strategies, {in_range:,} 1m candles in range "
        f"({len(history.candles):,} loaded), median of {options.rounds} rounds",
        ["step", "wall s", "CPU s (this process)", "CPU s (Data Manager)"],
    )

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.2f}"

    table.add_row(
        "read from the Data Manager",
        med([r.read_s for r in rounds]),
        med([r.read_cpu_s for r in rounds]),
        med([r.server_cpu_s for r in rounds]),
    )
    table.add_row(
        "evaluate + fills + figures",
        med([r.evaluate_s for r in rounds]),
        med([r.evaluate_cpu_s for r in rounds]),
        "",
    )
    table.add_row("end to end", f"{median_total:.2f}", "", "")
    table.add_row("end to end, best round", f"{best.total_s:.2f}", "", "")
    table.add_row("TA-Lib floor: the shared indicators alone", f"{floor:.3f}", "", "")
    table.add_row("ratio end to end / floor", f"{median_total / floor:.0f}×", "", "")  # fmt: skip
    console.print(table)
    verdict = "met" if median_total < TARGET_S else "NOT met"
    console.print(f"target < {TARGET_S:.0f} s end to end: {verdict}")
    trades = sum(r.trades for r in results)
    signals = sum(r.signals for r in results)
    console.print(f"{signals:,} signals, {trades:,} trades over the {len(results)} strategies")


if __name__ == "__main__":
    main()
