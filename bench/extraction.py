"""Extraction benchmarks (issue 3): the system's own kline workload, and weight efficiency.

1. Wall time of ``petrosa extract klines --interval 1m`` for 10 symbols x 24 hours, from the
   exchange simulator through the extractor into the Data Manager on SQLite (fresh database
   each round). Target: under 10 s (the jobs it replaces did not finish in 300 s).
2. A weight-limited run: the simulator's futures budget is cut so the same job needs two
   rate-limit windows and lasts ~30 s. Candles fetched per unit of weight, against the best
   Binance's weights allow (499-candle pages at weight 2). Target: ≥ 90 %, no 429 storm, no 418.

    python -m bench.extraction [--rounds 3] [--budget 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench._common import (
    bench_database,
    console,
    data_manager,
    environment_line,
    exchange_simulator,
    median,
    new_table,
)

SYMBOLS = "BTCUSDT,ETHUSDT,BNBUSDT,ADAUSDT,DOTUSDT,LINKUSDT,LTCUSDT,BCHUSDT,XLMUSDT,XRPUSDT"
CANDLES = 10 * 24 * 60
BEST_CANDLES_PER_WEIGHT = 499 / 2
"""Futures klines: a 499-candle page costs weight 2, the best ratio Binance's weights allow."""
WHOLE_MINUTE_CLOCK = "2026-11-01T00:00:00Z"
HALF_MINUTE_CLOCK = "2026-11-01T00:00:30Z"
"""A clock 30 s into a minute: the simulator's first rate-limit window then ends after 30 s."""


@dataclass
class Run:
    wall_s: float
    stats: dict[str, Any]
    stored: int


def extract_once(clock_start: str, *options: str) -> Run:
    with (
        bench_database("sqlite", "extract") as db,
        data_manager(db) as dm,
        exchange_simulator("--clock-start", clock_start, "--freeze-clock", *options) as sim,
    ):
        env = {
            **os.environ,
            "BINANCE_FUTURES_API_URL": sim.base_url,
            "DATA_MANAGER_URL": dm.base_url,
            "NATS_URL": "",
        }
        command = [
            sys.executable, "-m", "petrosa.cli.main", "extract", "klines",
            "--interval", "1m", "--symbols", SYMBOLS, "--lookback-hours", "24",
        ]  # fmt: skip
        started = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"extract failed ({result.returncode}): {result.stderr.strip()}")
        stats = httpx.get(f"{sim.base_url}/sim/stats").json()["markets"]["futures"]
        stored = 0
        for symbol in SYMBOLS.split(","):
            coverage = httpx.get(
                f"{dm.base_url}/data/klines/coverage", params={"symbol": symbol, "interval": "1m"}
            ).json()
            stored += int(coverage["count"])
        return Run(wall, stats, stored)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="wall-time rounds (median)")
    parser.add_argument("--budget", type=int, default=50, help="futures weight/min, limited run")
    args = parser.parse_args()
    console.print(f"extraction benchmark · {environment_line()}")

    walls = []
    for _ in range(args.rounds):
        run = extract_once(WHOLE_MINUTE_CLOCK)
        assert run.stored == CANDLES, run.stored
        walls.append(run.wall_s)
    table = new_table("10 symbols x 24 h of 1m klines → Data Manager (SQLite)", ["", "value"])
    table.add_row("candles stored", f"{CANDLES:,}")
    table.add_row("wall time, median of rounds (s)", f"{median(walls):.2f}")
    table.add_row("wall time, each round (s)", ", ".join(f"{w:.2f}" for w in walls))
    table.add_row("target", "< 10 s")
    console.print(table)

    limited = extract_once(HALF_MINUTE_CLOCK, "--futures-weight-limit", str(args.budget))
    stats = limited.stats
    per_weight = limited.stored / stats["weight_total"]
    table = new_table(f"weight-limited run (futures budget {args.budget}/min)", ["", "value"])
    table.add_row("wall time (s)", f"{limited.wall_s:.1f}")
    table.add_row("candles stored", f"{limited.stored:,}")
    table.add_row("requests / weight spent", f"{stats['requests']} / {stats['weight_total']}")
    table.add_row("candles per weight", f"{per_weight:.1f}")
    table.add_row("best possible (499 per weight 2)", f"{BEST_CANDLES_PER_WEIGHT:.1f}")
    table.add_row("efficiency", f"{per_weight / BEST_CANDLES_PER_WEIGHT:.1%} (target ≥ 90 %)")
    table.add_row("429 answered / 418 bans", f"{stats['rate_limited_429']} / {stats['banned_418']}")
    console.print(table)
    console.print(f"finished {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
