"""Trade-engine benchmark (issue 4): signal published → position persisted.

Three engine replicas (separate processes) share one JetStream durable consumer; the Data
Manager runs on SQLite (``--dm-backend``), coordination on PostgreSQL, the exchange is the
simulator's paper account with Binance's futures weight budget (2,400 per minute). Each
signal carries its publish time; the latency is its decision's ``decided_at`` (written after
the position and P&L are persisted) minus that time.

    python -m bench.tradeengine [--signals 150] [--rate 5] [--dm-backend sqlite]

Paced run: ``--rate`` signals/s, for latency. Burst run: all at once, for throughput. An
executed decision costs about 6 weight (mark price 1, the order's trades 5), so the budget
sustains about 5 decisions/s; faster runs show the engine waiting for the exchange's next
minute instead of collecting 429s (the table shows the weight used, 429s and 418s).
Target: p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import nats
import orjson
from prometheus_client.parser import text_string_to_metric_families

from bench._common import (
    Server,
    bench_database,
    console,
    data_manager,
    environment_line,
    exchange_simulator,
    new_table,
    percentile,
    petrosa_service,
)
from petrosa.client import SyncDataManagerClient

NATS_URL = "nats://127.0.0.1:4222"
SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "ADAUSDT", "DOTUSDT",
           "LINKUSDT", "LTCUSDT", "BCHUSDT", "XLMUSDT", "XRPUSDT"]  # fmt: skip
REPLICAS = ("r1", "r2", "r3")


@contextlib.contextmanager
def replicas(run: str, sim: Server, dm: Server, coordination_url: str) -> Iterator[list[Server]]:
    with contextlib.ExitStack() as stack:
        started = []
        for name in REPLICAS:
            env = {
                "BINANCE_FUTURES_API_URL": sim.base_url,
                "DATA_MANAGER_URL": dm.base_url,
                "COORDINATION_URL": coordination_url,
                "NATS_URL": NATS_URL,
                "HOSTNAME": name,
                "TRADEENGINE_REPLICA": name,
                "TRADEENGINE_NATS_SUBJECT": f"signals.trading.bench{run}",
                "TRADEENGINE_NATS_STREAM": f"SIGNALS_BENCH_{run}",
                "TRADEENGINE_NATS_DURABLE": f"bench_{run}",
                "TRADEENGINE_MAX_POSITION_NOTIONAL": "100000",
                "TRADEENGINE_MAX_TOTAL_EXPOSURE": "100",
            }
            started.append(
                stack.enter_context(
                    petrosa_service(
                        ["tradeengine", "serve", "--log-level", "warning"],
                        env=env,
                        ready_path="/health/readiness",
                    )
                )
            )
        yield started


def make_signals(prices: dict[str, Decimal], count: int, tag: str) -> list[dict[str, Any]]:
    signals = []
    for index in range(count):
        symbol = SYMBOLS[index % len(SYMBOLS)]
        action = "buy" if (index // len(SYMBOLS)) % 2 == 0 else "close"
        signals.append({
            "signal_id": f"{tag}-{index}", "strategy_id": "bench", "symbol": symbol,
            "action": action, "confidence": 0.5, "price": str(prices[symbol]),
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        })  # fmt: skip
    return signals


async def publish(run: str, signals: list[dict[str, Any]], rate: float | None) -> dict[str, float]:
    client = await nats.connect(NATS_URL)
    js = client.jetstream()
    sent: dict[str, float] = {}
    interval = 0.0 if rate is None else 1.0 / rate
    started = time.monotonic()
    for index, body in enumerate(signals):
        if interval:
            await asyncio.sleep(max(0.0, started + index * interval - time.monotonic()))
        sent[body["signal_id"]] = time.time()
        body["timestamp"] = dt.datetime.now(dt.UTC).isoformat()
        await js.publish(f"signals.trading.bench{run}", orjson.dumps(body))
    await client.close()
    return sent


def collect(dm_url: str, ids: set[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    with SyncDataManagerClient(dm_url) as dm:
        while True:
            done = {
                d["_id"]: d["decision"]
                for d in dm.iter_query("tradeengine_signals", {"stage": "done"})
                if d["_id"] in ids
            }
            if len(done) == len(ids) or time.monotonic() > deadline:
                return done
            time.sleep(0.5)


def futures_usage(sim: Server) -> dict[str, int]:
    """The simulator's request-weight counters for the futures market."""
    usage: dict[str, int] = httpx.get(f"{sim.base_url}/sim/stats").json()["markets"]["futures"]
    return usage


def measure(
    run: str, dm: Server, sim: Server, signals: list[dict[str, Any]], rate: float | None
) -> dict[str, Any]:
    started = time.time()
    before = futures_usage(sim)
    sent = asyncio.run(publish(run, signals, rate))
    decisions = collect(dm.base_url, set(sent), timeout_s=300)
    after = futures_usage(sim)
    latencies = sorted(
        dt.datetime.fromisoformat(d["decided_at"]).timestamp() - sent[signal_id]
        for signal_id, d in decisions.items()
        if d["status"] == "executed"
    )
    last = max(dt.datetime.fromisoformat(d["decided_at"]).timestamp() for d in decisions.values())
    return {
        "decided": len(decisions),
        "executed": len(latencies),
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "max": latencies[-1],
        "per_s": len(decisions) / (last - started),
        "weight": after["weight_total"] - before["weight_total"],
        "http_429": after["rate_limited_429"] - before["rate_limited_429"],
        "http_418": after["banned_418"] - before["banned_418"],
    }


STAGES = ("arrival", "lock", "read", "order", "protect", "persist", "decide")
SLOW_S = "0.1"
"""A step slower than this (a histogram bucket bound) is counted as slow."""
StageTotals = dict[str, tuple[float, float, float]]


def stage_totals(engines: list[Server]) -> StageTotals:
    """Seconds, count and count within 100 ms per decision step, summed over the replicas'
    /metrics."""
    totals: dict[str, list[float]] = {}
    for engine in engines:
        text = httpx.get(f"{engine.base_url}/metrics").text
        for family in text_string_to_metric_families(text):
            if family.name != "petrosa_te_decision_stage_seconds":
                continue
            for sample in family.samples:
                slot = totals.setdefault(sample.labels["stage"], [0.0, 0.0, 0.0])
                if sample.name.endswith("_sum"):
                    slot[0] += sample.value
                elif sample.name.endswith("_count"):
                    slot[1] += sample.value
                elif sample.labels.get("le") == SLOW_S:
                    slot[2] += sample.value
    return {stage: (values[0], values[1], values[2]) for stage, values in totals.items()}


def stage_means(before: StageTotals, after: StageTotals) -> dict[str, str]:
    """Mean milliseconds per step between two scrapes, and how many took over 100 ms."""
    means = {}
    for stage, (seconds, count, fast) in after.items():
        seconds0, count0, fast0 = before.get(stage, (0.0, 0.0, 0.0))
        if count > count0:
            mean = (seconds - seconds0) / (count - count0) * 1000
            slow = (count - count0) - (fast - fast0)
            means[stage] = f"{mean:.1f} ({slow:.0f})"
    return means


async def delete_stream(run: str) -> None:
    client = await nats.connect(NATS_URL)
    with contextlib.suppress(Exception):
        await client.jetstream().delete_stream(f"SIGNALS_BENCH_{run}")
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=150)
    parser.add_argument("--rate", type=float, default=5.0, help="paced run, signals/s")
    parser.add_argument(
        "--dm-backend", default="sqlite", choices=["sqlite", "mariadb", "postgresql"],
        help="the Data Manager's database",
    )  # fmt: skip
    args = parser.parse_args()
    console.print(f"trade-engine benchmark · {environment_line()}")
    run = uuid.uuid4().hex[:8]
    with (
        bench_database(args.dm_backend, "engine_dm") as dm_db,
        bench_database("postgresql", "engine_coord") as coord_db,
        data_manager(dm_db) as dm,
        exchange_simulator() as sim,
        replicas(run, sim, dm, coord_db.url) as engines,
    ):
        body = httpx.get(f"{sim.base_url}/fapi/v1/premiumIndex").json()
        prices = {item["symbol"]: Decimal(item["markPrice"]) for item in body}
        start = stage_totals(engines)
        paced = measure(run, dm, sim, make_signals(prices, args.signals, "paced"), args.rate)
        middle = stage_totals(engines)
        burst = measure(run, dm, sim, make_signals(prices, args.signals, "burst"), None)
        paced["stages"] = stage_means(start, middle)
        burst["stages"] = stage_means(middle, stage_totals(engines))
        asyncio.run(delete_stream(run))
    table = new_table(
        f"signal published → position persisted, 3 replicas, {args.signals} signals per run, "
        f"Data Manager on {args.dm_backend}",
        [
            "run",
            "decided",
            "executed",
            "p50 ms",
            "p99 ms",
            "max ms",
            "decisions/s",
            "weight",
            "429",
            "418",
        ],
    )
    for name, figures in ((f"paced {args.rate:g}/s", paced), ("burst", burst)):
        table.add_row(
            name, str(figures["decided"]), str(figures["executed"]),
            f"{figures['p50'] * 1000:.1f}", f"{figures['p99'] * 1000:.1f}",
            f"{figures['max'] * 1000:.1f}", f"{figures['per_s']:.1f}",
            str(figures["weight"]), str(figures["http_429"]), str(figures["http_418"]),
        )  # fmt: skip
    console.print(table)
    steps = new_table(
        "mean ms per step of a decision (how many took over 100 ms), from the replicas' /metrics",
        ["run", *STAGES],
    )
    for name, figures in ((f"paced {args.rate:g}/s", paced), ("burst", burst)):
        means = figures["stages"]
        steps.add_row(name, *(means.get(s, "—") for s in STAGES))
    console.print(steps)
    console.print("target: p99 under 100 ms (paced run)")


if __name__ == "__main__":
    main()
