"""Trade engine end to end: three replicas (separate processes) on real NATS JetStream, a
real Data Manager, coordination on PostgreSQL, and the exchange simulator's paper account.

Only what needs processes is here: replicas racing and killed, NATS redelivery, the HTTP
surface, readiness and the leader's rounds. The decisions themselves (sizing, risk, prices,
protection, turns within a replica) are tested in one process: tests/unit/tradeengine/
test_decisions.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.js.errors
import orjson
import pytest

from petrosa.client import SyncDataManagerClient
from petrosa.exchange.binance import BinanceFuturesTrading
from tests.support.server import (
    RunningServer,
    start_data_manager,
    start_exchange_simulator,
    start_service,
)
from tests.support.services import (
    NATS_HOST,
    NATS_PORT,
    ThrowawayDatabase,
    create_database,
    drop_database,
    require_port,
)
from tests.support.signals import signal_body

pytestmark = pytest.mark.integration

NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"
SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "ADAUSDT", "DOTUSDT",
           "LINKUSDT", "LTCUSDT", "BCHUSDT", "XLMUSDT", "XRPUSDT"]  # fmt: skip
PAPER_KEY, PAPER_SECRET = "paper-key", "paper-secret"
DECISIONS_DEADLINE_S = 480.0
"""Deadline of the three-replica run: it took 215 s of 240 on a busy two-core machine."""


class Stack:
    def __init__(self, tmp: Path, coordination: ThrowawayDatabase) -> None:
        self.tmp = tmp
        self.run = uuid.uuid4().hex[:8]
        self.subject = f"signals.trading.test{self.run}"  # runs never share a stream
        self.sim = start_exchange_simulator(tmp)
        self.dm = start_data_manager(f"sqlite:///{tmp / 'dm.db'}", tmp)
        self.coordination = coordination
        self.replicas: dict[str, RunningServer] = {}

    def env(self, replica: str, **extra: str) -> dict[str, str]:
        return {
            "BINANCE_FUTURES_API_URL": self.sim.base_url,
            "DATA_MANAGER_URL": self.dm.base_url,
            "COORDINATION_URL": self.coordination.url,
            "NATS_URL": NATS_URL,
            "HOSTNAME": replica,
            "TRADEENGINE_REPLICA": replica,
            "TRADEENGINE_NATS_SUBJECT": self.subject,
            "TRADEENGINE_NATS_STREAM": f"SIGNALS_{self.run}",
            "TRADEENGINE_NATS_DURABLE": f"engine_{self.run}",
            "TRADEENGINE_NATS_ACK_WAIT_S": "3",
            "TRADEENGINE_LOCK_TTL_S": "3",
            "TRADEENGINE_MAX_SIGNAL_AGE_S": "600",
            **extra,
        }

    def start_replica(self, replica: str, **extra: str) -> RunningServer:
        server = start_service(
            f"engine-{replica}", ["tradeengine", "serve"], self.tmp,
            ready_path="/health/readiness", extra_env=self.env(replica, **extra),
        )  # fmt: skip
        self.replicas[replica] = server
        return server

    def stop(self) -> None:
        for server in self.replicas.values():
            server.stop()
        self.dm.stop()
        self.sim.stop()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    require_port("NATS", NATS_HOST, NATS_PORT)
    coordination = create_database("postgresql", tmp_path)
    running = Stack(tmp_path, coordination)
    yield running
    running.stop()
    asyncio.run(delete_stream(running))
    drop_database(coordination)


def mark_prices(sim_url: str) -> dict[str, Decimal]:
    body = httpx.get(f"{sim_url}/fapi/v1/premiumIndex").json()
    return {item["symbol"]: Decimal(item["markPrice"]) for item in body}


def signal(strategy: str, symbol: str, action: str, price: Decimal, index: int) -> dict[str, Any]:
    return signal_body(symbol, action, price, index, strategy=strategy)


async def publish(stack: Stack, messages: list[dict[str, Any]]) -> None:
    client = await nats.connect(NATS_URL)
    js = client.jetstream()
    for message in messages:
        await js.publish(stack.subject, orjson.dumps(message), stream=f"SIGNALS_{stack.run}")
    await client.close()


async def delete_stream(stack: Stack) -> None:
    client = await nats.connect(NATS_URL)
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await client.jetstream().delete_stream(f"SIGNALS_{stack.run}")
    await client.close()


def wait_for_decisions(dm_url: str, expected: int, timeout_s: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    with SyncDataManagerClient(dm_url) as dm:
        while True:
            done = list(dm.iter_query("tradeengine_signals", {"stage": "done"}))
            if len(done) >= expected or time.monotonic() > deadline:
                return [dict(d) for d in done]
            time.sleep(0.5)


def sim_orders(sim_url: str) -> list[dict[str, Any]]:
    """Every order the paper account took (the simulator's own view, not the engine's)."""
    orders: list[dict[str, Any]] = httpx.get(f"{sim_url}/sim/orders").json()["orders"]
    return orders


async def exchange_trades(sim_url: str, orders: list[dict[str, Any]]) -> list[Any]:
    """The fills of ``orders`` with their commissions and realized P&L, signed requests."""
    async with BinanceFuturesTrading(PAPER_KEY, PAPER_SECRET, base_url=sim_url) as exchange:
        trades: list[Any] = []
        for order in orders:
            trades.extend(await exchange.fills(order["symbol"], order["orderId"]))
        return trades


@pytest.mark.timeout(2 * DECISIONS_DEADLINE_S)
def test_three_replicas_execute_each_signal_exactly_once(stack: Stack) -> None:
    for replica in ("r1", "r2", "r3"):
        stack.start_replica(replica)
    prices = mark_prices(stack.sim.base_url)
    rng = random.Random(7)
    unique: list[dict[str, Any]] = []
    for index in range(20):
        for symbol in SYMBOLS:
            action = "buy" if index % 2 == 0 else "close"
            unique.append(signal("trend", symbol, action, prices[symbol], index))
    duplicates = rng.sample(unique, 50)
    messages = unique + duplicates
    rng.shuffle(messages)
    assert len(messages) == 250

    asyncio.run(publish(stack, messages[:125]))
    stack.replicas["r2"].process.kill()  # forced redeliveries: r2's unacked messages return
    stack.replicas["r2"].process.wait()
    asyncio.run(publish(stack, messages[125:]))
    stack.start_replica("r2")

    decided = wait_for_decisions(stack.dm.base_url, len(unique), timeout_s=DECISIONS_DEADLINE_S)
    assert len(decided) == len(unique)
    executed = {d["_id"] for d in decided if d["decision"]["status"] == "executed"}

    orders = sim_orders(stack.sim.base_url)
    entry_orders = [o for o in orders if o["type"] == "MARKET"]
    client_ids = [o["clientOrderId"] for o in entry_orders]
    assert len(client_ids) == len(set(client_ids)) == len(executed)  # one order per signal

    with SyncDataManagerClient(stack.dm.base_url) as dm:
        today = dt.datetime.now(dt.UTC).date()
        daily = dm.get_daily_pnl(today)
        positions = dm.list_positions(limit=5_000)
        open_positions = {p.symbol: p for p in positions if p.status.value == "open"}
    trades = asyncio.run(exchange_trades(stack.sim.base_url, orders))
    realized = sum((t.realized_pnl - t.commission for t in trades), Decimal(0))
    assert daily.total == realized
    assert daily.event_count == len(entry_orders)
    exchange_positions = httpx.get(f"{stack.sim.base_url}/sim/positions").json()["positions"]
    held = {p["symbol"]: Decimal(p["positionAmt"]) for p in exchange_positions}
    for symbol, position in open_positions.items():
        assert held.get(symbol) == position.quantity
    assert set(held) == set(open_positions)


def test_lock_holder_killed_mid_decision_executes_once(stack: Stack) -> None:
    stack.start_replica("doomed", PETROSA_FAILPOINTS="after_order")
    prices = mark_prices(stack.sim.base_url)
    message = signal("crash", "ETHUSDT", "buy", prices["ETHUSDT"], 1)
    asyncio.run(publish(stack, [message]))
    doomed = stack.replicas["doomed"].process
    doomed.wait(timeout=120)  # it placed the order, then died before recording anything
    assert doomed.returncode == 137
    # The survivor would call the signal stale by now: taking over must not re-decide it.
    time.sleep(1.5)
    survivor = stack.start_replica("survivor", TRADEENGINE_MAX_SIGNAL_AGE_S="1")
    decided = wait_for_decisions(stack.dm.base_url, 1, timeout_s=120)
    assert [d["decision"]["status"] for d in decided] == ["executed"]
    orders = [o for o in sim_orders(stack.sim.base_url) if o["type"] == "MARKET"]
    assert len(orders) == 1
    with SyncDataManagerClient(stack.dm.base_url) as dm:
        (position,) = dm.get_open_positions(symbol="ETHUSDT")
    assert position.metadata["fills"] == [orders[0]["orderId"]]
    recorded = httpx.get(f"{survivor.base_url}/orders").json()
    assert [(o["signal_id"], o["order_id"]) for o in recorded] == [
        ("crash-ETHUSDT-1", orders[0]["orderId"])
    ]


def post(replica: RunningServer, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{replica.base_url}/signals", json=body, timeout=30)


def test_readiness_is_503_while_the_data_manager_self_test_fails(stack: Stack) -> None:
    stack.dm.stop()
    engine = start_service(
        "engine-nodm", ["tradeengine", "serve"], stack.tmp, ready_path="/health/liveness",
        extra_env=stack.env("nodm"),
    )  # fmt: skip
    stack.replicas["nodm"] = engine
    readiness = httpx.get(f"{engine.base_url}/health/readiness", timeout=30)
    assert readiness.status_code == 503
    problems = readiness.json()["problems"]
    assert "data_manager_not_ready" in problems, problems
    assert {"starting", "data_manager_unavailable"} & set(problems), problems  # self-test
    assert "paper-secret" not in readiness.text


def test_unrealized_pnl_follows_the_mark_price(tmp_path: Path, stack: Stack) -> None:
    stack.sim.stop()  # a frozen clock: the mark price moves only when the test moves time
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    stack.sim = start_exchange_simulator(tmp_path, "--clock-start", now, "--freeze-clock")
    engine = stack.start_replica("marker", TRADEENGINE_RECONCILE_EVERY_S="1")
    price = mark_prices(stack.sim.base_url)["BTCUSDT"]
    short = signal("mtm", "BTCUSDT", "sell", price, 1) | {"quantity": "0.002"}
    assert post(engine, short).json()["status"] == "executed"

    def expected(position: dict[str, Any]) -> Decimal:
        mark = mark_prices(stack.sim.base_url)["BTCUSDT"]
        return (Decimal(position["entry_price"]) - mark) * Decimal(position["quantity"])

    for hours in (0, 5):
        httpx.post(f"{stack.sim.base_url}/sim/clock/advance", params={"ms": hours * 3_600_000})
        (live,) = httpx.get(f"{engine.base_url}/positions", params={"status": "open"}).json()
        assert Decimal(live["unrealized_pnl"]) == expected(live)
    assert expected(live) != 0  # five hours moved the price
    deadline = time.monotonic() + 120  # leadership and a round, on a possibly busy machine
    with SyncDataManagerClient(stack.dm.base_url) as dm:  # the leader stores it too
        while (stored := dm.get_open_positions(symbol="BTCUSDT")[0]).unrealized_pnl != (
            expected(live)
        ):
            assert time.monotonic() < deadline, stored
            time.sleep(0.5)


def test_the_engine_api_with_tokens_decides_and_closes_once(stack: Stack) -> None:
    """The HTTP surface of one replica: tokens, 422 for bad bodies, decisions and closes
    through it (the decisions themselves are tested in-process: test_decisions.py)."""
    engine = stack.start_replica(
        "guarded", TRADEENGINE_READ_TOKENS="reader", TRADEENGINE_WRITE_TOKENS="writer"
    )
    writer, reader = {"Authorization": "Bearer writer"}, {"Authorization": "Bearer reader"}
    price = mark_prices(stack.sim.base_url)["ETHUSDT"]
    body = signal("auth", "ETHUSDT", "buy", price, 1)

    def send(token: str | None, sent: dict[str, Any] = body) -> httpx.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.post(f"{engine.base_url}/signals", json=sent, headers=headers, timeout=30)

    assert send(None).status_code == 401
    assert send("reader").status_code == 403
    assert send("wrong").status_code == 401
    refused = send("writer", body | {"price": "-1"})
    assert refused.status_code == 422
    assert ["body", "price"] in [e["loc"] for e in refused.json()["detail"]]
    assert send("writer").json()["status"] == "executed"
    assert send("writer").json()["status"] == "duplicate"
    positions = f"{engine.base_url}/positions"
    assert httpx.get(positions).status_code == 401
    assert len(httpx.get(positions, headers=reader).json()) == 1
    assert httpx.get(f"{engine.base_url}/health/liveness").status_code == 200

    url = f"{engine.base_url}/positions/ETHUSDT/close"
    first = httpx.post(url, headers=writer, timeout=30).json()
    again = httpx.post(url, headers=writer, timeout=30)  # closed now: nothing to close
    assert (first["status"], first["action"]) == ("executed", "close")
    assert again.status_code == 404
    keyed = httpx.post(url, params={"request_id": "desk-7"}, headers=writer, timeout=30).json()
    repeat = httpx.post(url, params={"request_id": "desk-7"}, headers=writer, timeout=30)
    assert (keyed["status"], keyed["reason"]) == ("rejected", "close: no open position")
    assert repeat.json()["status"] == "duplicate"
    bad_symbol = f"{engine.base_url}/positions/eth-usdt/close"
    assert httpx.post(bad_symbol, headers=writer, timeout=30).status_code == 422

    closes = [o for o in sim_orders(stack.sim.base_url) if o["reduceOnly"]]
    assert len(closes) == 1
    with SyncDataManagerClient(stack.dm.base_url) as dm:
        assert dm.get_open_positions(symbol="ETHUSDT") == []
        (closed,) = dm.list_positions(symbol="ETHUSDT", status="closed")
    assert closed.metadata["fills"][-1] == closes[0]["orderId"]
    decisions = httpx.get(f"{engine.base_url}/decisions", headers=reader).json()
    assert {d["signal_id"] for d in decisions} >= {"auth-ETHUSDT-1", "api-close:desk-7"}
    orders = httpx.get(f"{engine.base_url}/orders", headers=reader).json()
    assert len(orders) == 2
    assert "auth-ETHUSDT-1" in {o["signal_id"] for o in orders}
    assert all(o["client_order_id"].startswith("pt-") for o in orders)


def test_serve_refuses_a_public_address_without_tokens() -> None:
    env = {**os.environ, "TRADEENGINE_READ_TOKENS": "", "TRADEENGINE_WRITE_TOKENS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "petrosa.cli.main", "tradeengine", "serve", "--host", "0.0.0.0"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "refusing to serve on 0.0.0.0 without tokens" in lines[0]
