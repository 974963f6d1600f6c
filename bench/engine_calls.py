"""The trade engine's calls one at a time: each Data Manager and exchange request a decision
makes, timed alone (one client, sequential), against a real Data Manager and simulator.

    python -m bench.engine_calls [--rounds 60] [--dm-backend sqlite]

It shows what a decision's steps are made of; bench/tradeengine.py measures them together.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

from bench._common import (
    Server,
    bench_database,
    console,
    data_manager,
    environment_line,
    exchange_simulator,
    new_table,
    percentile,
)
from petrosa.client import DataManagerClient
from petrosa.contracts.trading import RealizedPnlIn
from petrosa.exchange.binance import BinanceFuturesTrading
from petrosa.exchange.trading import OrderSide

Call = Callable[[int], Awaitable[object]]


async def timed(call: Call, rounds: int) -> list[float]:
    await call(-1)  # warm the connection
    spent = []
    for index in range(rounds):
        started = time.perf_counter()
        await call(index)
        spent.append(time.perf_counter() - started)
    return sorted(spent)


def calls(dm: DataManagerClient, exchange: BinanceFuturesTrading) -> dict[str, Call]:
    today = dt.datetime.now(dt.UTC).date()

    def order(index: int) -> Awaitable[object]:
        side = OrderSide.BUY if index % 2 == 0 else OrderSide.SELL
        client_id = f"bench-{uuid.uuid4().hex[:24]}"
        return exchange.place_market_order(
            "BTCUSDT", side, Decimal("0.002"), client_order_id=client_id, first_attempt=True
        )

    def pnl_event(_: int) -> Awaitable[object]:
        event = RealizedPnlIn(
            event_id=uuid.uuid4().hex, amount=Decimal(1), occurred_at=dt.datetime.now(dt.UTC)
        )
        return dm.record_realized_pnl(event)

    return {
        "Data Manager: claim (insert_one)": lambda _: dm.insert_one(
            "bench_calls", {"_id": uuid.uuid4().hex}
        ),
        "Data Manager: open positions": lambda _: dm.get_open_positions(),
        "Data Manager: daily P&L": lambda _: dm.get_daily_pnl(today),
        "Data Manager: P&L event": pnl_event,
        "Data Manager: update_one": lambda i: dm.update_one(
            "bench_calls", {"n": i}, {"$set": {"seen": True}}
        ),
        "exchange: mark price": lambda _: exchange.mark_price("BTCUSDT"),
        "exchange: account": lambda _: exchange.account(),
        "exchange: market order + its trades": order,
    }


async def measure(dm_server: Server, sim: Server, rounds: int) -> dict[str, list[float]]:
    async with (
        DataManagerClient(dm_server.base_url) as dm,
        BinanceFuturesTrading("paper-key", "paper-secret", base_url=sim.base_url) as exchange,
    ):
        await dm.declare_collection("bench_calls")
        return {name: await timed(call, rounds) for name, call in calls(dm, exchange).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument(
        "--dm-backend", default="sqlite", choices=["sqlite", "mariadb", "postgresql"]
    )
    args = parser.parse_args()
    console.print(f"engine calls · {environment_line()}")
    with (
        bench_database(args.dm_backend, "engine_calls") as db,
        data_manager(db) as dm,
        exchange_simulator() as sim,
    ):
        results = asyncio.run(measure(dm, sim, args.rounds))
    table = new_table(
        f"one call at a time, {args.rounds} rounds, Data Manager on {args.dm_backend}",
        ["call", "p50 ms", "p90 ms"],
    )
    for name, spent in results.items():
        table.add_row(
            name, f"{percentile(spent, 0.5) * 1000:.2f}", f"{percentile(spent, 0.9) * 1000:.2f}"
        )
    console.print(table)


if __name__ == "__main__":
    main()
