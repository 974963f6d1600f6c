"""Scenarios in a real ``petrosa exchange-sim serve`` process (frozen clock, moved with
``/sim/clock/advance``), read over HTTP and through the ``websockets`` client. Needs no other
server.

One scenario comes from ``--scenario`` and one from ``POST /sim/scenarios``; the test follows
the diff-depth and aggTrade streams across their start and end and checks that a book kept
from the stream equals ``/depth`` and that the streamed trades are ``/aggTrades``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.support.server import RunningServer, start_exchange_simulator

pytestmark = pytest.mark.integration

CLOCK_START = "2025-06-01T12:34:00Z"
DEADLINE_S = 30.0
ADVANCE_MS = 500
BURST = {"duration_s": 5, "params": {"ramp_s": 3, "fade_s": 5}}


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_exchange_simulator(
        tmp_path_factory.mktemp("sim-scenarios"),
        "--clock-start",
        CLOCK_START,
        "--freeze-clock",
        "--scenario",
        "imbalance:BTCUSDT",
    )
    yield server
    server.stop()


def _ws_url(server: RunningServer, path: str) -> str:
    return server.base_url.replace("http://", "ws://") + path


class _Client:
    """What a client keeps: the book from the diff stream and the trades it was sent."""

    def __init__(self, snapshot: dict[str, Any], opened_ms: int) -> None:
        self.opened_ms = opened_ms
        self.bids = {p: q for p, q in snapshot["bids"]}
        self.asks = {p: q for p, q in snapshot["asks"]}
        self.last_id: int = snapshot["lastUpdateId"]
        self.trades: list[dict[str, Any]] = []

    def take(self, message: dict[str, Any]) -> None:
        data = message["data"]
        if message["stream"].endswith("@aggTrade"):
            self.trades.append(data)
            return
        assert data["U"] == self.last_id + 1  # ids chain across the scenarios
        for side, levels in ((self.bids, data["b"]), (self.asks, data["a"])):
            for price, qty in levels:
                if Decimal(qty) == 0:
                    side.pop(price, None)
                else:
                    side[price] = qty
        self.last_id = data["u"]


async def _catch_up(
    socket: ClientConnection, client: _Client, sim: httpx.AsyncClient
) -> dict[str, Any]:
    """Read frames until the client's book is at the served step; that snapshot."""
    depth = await sim.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 1000})
    snapshot: dict[str, Any] = depth.json()
    newest = (await sim.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "limit": 1})).json()
    newest = [t for t in newest if t["T"] > client.opened_ms]  # the stream starts at opening
    while client.last_id < snapshot["lastUpdateId"] or (
        newest and (not client.trades or client.trades[-1]["a"] < newest[-1]["a"])
    ):
        client.take(orjson.loads(await asyncio.wait_for(socket.recv(), DEADLINE_S)))
    return snapshot


async def test_a_client_book_and_trades_equal_rest_through_scenarios(
    simulator: RunningServer,
) -> None:
    streams = "btcusdt@depth@100ms/btcusdt@aggTrade"
    async with (
        httpx.AsyncClient(base_url=simulator.base_url, timeout=DEADLINE_S) as sim,
        connect(_ws_url(simulator, f"/stream?streams={streams}")) as socket,
    ):
        listed = (await sim.get("/sim/scenarios")).json()
        assert [(s["name"], s["symbol"], s["market"]) for s in listed] == [
            ("imbalance", "BTCUSDT", "spot")
        ]
        await asyncio.sleep(0.2)  # the subscription opens at the frozen now
        opened = (await sim.get("/api/v3/time")).json()["serverTime"]
        depth = await sim.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 1000})
        client = _Client(depth.json(), opened)
        burst = await sim.post(
            "/sim/scenarios", json={"name": "buy_burst", "symbol": "BTCUSDT", **BURST}
        )
        assert burst.status_code == 201
        end_ms = burst.json()["end_ms"]
        skews: list[float] = []
        while (now := (await sim.get("/api/v3/time")).json()["serverTime"]) < end_ms + 2_000:
            advanced = await sim.post("/sim/clock/advance", params={"ms": str(ADVANCE_MS)})
            assert advanced.status_code == 200
            snapshot = await _catch_up(socket, client, sim)
            assert client.bids == {p: q for p, q in snapshot["bids"]}
            assert client.asks == {p: q for p, q in snapshot["asks"]}
            skews.append(_imbalance(snapshot))
        assert max(skews[:20]) > 0.3  # the imbalance from --scenario (30 s from the start)
        assert now > end_ms
        first = client.trades[0]["a"]
        rest: list[dict[str, Any]] = []
        while len(rest) < len(client.trades):
            page = await sim.get(
                "/api/v3/aggTrades",
                params={"symbol": "BTCUSDT", "fromId": first + len(rest), "limit": 1000},
            )
            rest += page.json()
        keys = ("a", "p", "q", "f", "l", "T", "m", "M")
        assert [[t[k] for k in keys] for t in client.trades] == [
            [r[k] for k in keys] for r in rest[: len(client.trades)]
        ]
        start_ms = burst.json()["start_ms"]
        buying = [t for t in client.trades if start_ms <= t["T"] < start_ms + 5_000]
        assert len(buying) >= 3
        assert sum(not t["m"] for t in buying) >= len(buying) - 1


def _imbalance(snapshot: dict[str, Any], levels: int = 10) -> float:
    bids = sum(Decimal(p) * Decimal(q) for p, q in snapshot["bids"][:levels])
    asks = sum(Decimal(p) * Decimal(q) for p, q in snapshot["asks"][:levels])
    return float((bids - asks) / (bids + asks))
