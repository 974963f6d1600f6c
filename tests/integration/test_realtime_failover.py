"""Two realtime replicas (``petrosa realtime serve`` processes) share two symbols; the owner
of the scenario's symbol is killed (SIGKILL) mid-scenario, once it has signalled.

Servers: the simulator and the Data Manager (processes), NATS, coordination on a SQLite file
shared by the replicas, the socket client in this process. The survivor must take the
symbol over when the dead replica's lease expires (under a newer fencing token) and the
scenario must still produce exactly one signal: the survivor rebuilds its state from the
streams and does not signal the episode again (a trigger starts disarmed, so a condition
already true at a takeover is its predecessor's). A kill between the condition turning true
and the signal loses that episode: at most once, never twice. From the replicas'
lease journals: no symbol was ever held by two replicas at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal as signals_module
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson
import pytest

from petrosa.client import DataManagerClient
from petrosa.contracts.market import Market
from petrosa.socketclient.plan import build_plan
from petrosa.socketclient.service import SocketClient
from petrosa.socketclient.settings import SocketClientSettings
from tests.integration.test_realtime_scenarios import (
    CLOCK_START,
    STREAMS,
    Driver,
    Signals,
    document,
)
from tests.integration.test_socketclient_simulator import (
    NATS_URL,
    depth_fetchers,
    wait_for,
    ws_base,
)
from tests.support.server import RunningServer, start_data_manager, start_service
from tests.support.services import NATS_HOST, NATS_PORT, require_port

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:6].upper()
CONTESTED, OTHER = f"RTF{RUN}USDT", f"RTO{RUN}USDT"
TTL_S = 3.0
PACE_S = 0.05
"""Twice real time: the takeover (a lease ttl of wall time) lands inside the scenario."""
WAIT_S = 180.0


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    require_port("NATS", NATS_HOST, NATS_PORT)
    server = start_service(
        "exchange-sim",
        ["exchange-sim", "serve", "--clock-start", CLOCK_START, "--freeze-clock"],
        tmp_path_factory.mktemp("sim-rtf"),
        ready_path="/health/liveness",
        extra_env={"EXCHANGE_SIM_WS_TICK_MS": "5", "EXCHANGE_SIM_SYMBOLS": f"{CONTESTED},{OTHER}"},
    )
    yield server
    server.stop()


def start_replica(
    name: str, tmp_path: Path, data_manager: RunningServer, run: dict[str, str]
) -> RunningServer:
    env = {
        "HOSTNAME": name,
        "NATS_URL": NATS_URL,
        "DATA_MANAGER_URL": data_manager.base_url,
        "COORDINATION_URL": f"sqlite:///{tmp_path / 'coordination.db'}",
        "REALTIME_MARKETS": "futures",
        "REALTIME_SYMBOLS": f"{CONTESTED},{OTHER}",
        "REALTIME_LEASE_TTL_S": str(TTL_S),
        "REALTIME_OWNERSHIP_JOURNAL": str(tmp_path / f"{name}.jsonl"),
        "REALTIME_CONFIG_POLL_S": "1",
        **run,
    }
    return start_service(
        f"realtime-{name}",
        ["realtime", "serve"],
        tmp_path,
        ready_path="/health/liveness",
        extra_env=env,
    )


async def owner_of(replicas: dict[str, RunningServer], symbol: str) -> str | None:
    async with httpx.AsyncClient(timeout=5.0) as http:
        for name, replica in replicas.items():
            if replica.process.poll() is not None:
                continue
            with contextlib.suppress(httpx.HTTPError):
                status = (await http.get(f"{replica.base_url}/status")).json()
                if f"futures:{symbol}" in status["owned"]:
                    return name
    return None


def holdings(journals: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """Per lock: each holding (owner, token, start, end) from the journals, by start."""
    spans: dict[tuple[str, int], dict[str, Any]] = {}
    for journal in journals:
        for line in journal.read_bytes().splitlines():
            entry = orjson.loads(line)
            key = (entry["lock"], entry["token"])
            span = spans.setdefault(
                key, {"lock": entry["lock"], "owner": entry["owner"], "token": entry["token"]}
            )
            assert span["owner"] == entry["owner"], f"token {key} used by two owners"
            if entry["event"] == "gained":
                span["start"] = entry["wall_ms"]
            # The holder acts only until its lease's local deadline, or until it let go.
            end = entry["valid_until_wall_ms"]
            if entry["event"] in ("released", "lost"):
                end = min(end, entry["wall_ms"])
            span["end"] = min(span.get("end", end), end) if entry["event"] != "renewed" else end
    by_lock: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans.values():
        by_lock[span["lock"]].append(span)
    return {lock: sorted(s, key=lambda s: s["start"]) for lock, s in by_lock.items()}


async def test_a_killed_owner_is_replaced_and_the_scenario_signals_once(
    tmp_path: Path, simulator: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("dm-rtf")
    data_manager = start_data_manager(f"sqlite:///{root / 'dm.db'}", root)
    subject, stream = f"signals.trading.rtf{RUN.lower()}", f"SIGNALS_RTF{RUN}"
    run = {
        "REALTIME_SIGNALS_SUBJECT": subject,
        "REALTIME_SIGNALS_STREAM": stream,
        "REALTIME_CONFIG_KEY": f"realtime.test.{RUN}",
    }
    replicas: dict[str, RunningServer] = {}
    listener = await nats.connect(NATS_URL)
    collected = Signals()
    await listener.subscribe(subject, cb=collected.take)
    try:
        async with (
            DataManagerClient(data_manager.base_url) as dm,
            httpx.AsyncClient(base_url=simulator.base_url, timeout=30.0) as sim,
            depth_fetchers(simulator, (Market.FUTURES,)) as fetchers,
        ):
            # A short cooldown: only the edge trigger stands between the survivor and a
            # second signal of the same episode.
            doc = document(orderbook_imbalance={"cooldown_s": 5})
            await dm.set_app_config(run["REALTIME_CONFIG_KEY"], doc, changed_by="test")
            settings = SocketClientSettings(
                markets=(Market.FUTURES,),
                symbols=(CONTESTED, OTHER),
                streams=STREAMS,
                futures_ws_url=ws_base(simulator),
                nats_url=NATS_URL,
                book_publishes_per_s=100.0,
            )
            plan = build_plan(settings.markets, settings.symbols, settings.streams, books=True)
            client = SocketClient(settings, plan, fetchers=fetchers)
            driver = Driver(sim, PACE_S)
            driver.start()
            await client.start()
            try:
                for name in ("rt-a", "rt-b"):
                    replicas[name] = start_replica(name, tmp_path, data_manager, run)

                async def split() -> bool:
                    a, b = await owner_of(replicas, CONTESTED), await owner_of(replicas, OTHER)
                    return a is not None and b is not None and a != b

                await wait_for(split, "one symbol per replica", WAIT_S)
                victim = await owner_of(replicas, CONTESTED)
                assert victim is not None
                survivor = next(name for name in replicas if name != victim)
                now = await driver.now_ms()
                answer = await sim.post(
                    "/sim/scenarios",
                    json={
                        "name": "imbalance",
                        "symbol": CONTESTED,
                        "market": "futures",
                        "start_ms": now + 20_000,
                        "duration_s": 60,
                    },
                )
                assert answer.status_code == 201, answer.text
                scenario = answer.json()

                await wait_for(lambda: len(collected.of(CONTESTED)) == 1, "a signal", WAIT_S)
                (signal,) = collected.of(CONTESTED)

                async def recorded() -> bool:
                    page = await dm.query("realtime_signals", {"_id": signal["signal_id"]})
                    return len(page) == 1

                await wait_for(recorded, "the record", WAIT_S)
                assert await driver.now_ms() < scenario["end_ms"] - 20_000  # mid-scenario
                os.kill(replicas[victim].process.pid, signals_module.SIGKILL)
                replicas[victim].process.wait(timeout=10)

                async def taken_over() -> bool:
                    return await owner_of(replicas, CONTESTED) == survivor

                await wait_for(taken_over, "the survivor owning the symbol", WAIT_S)

                async def over() -> bool:
                    end_ms: int = scenario["end_ms"]
                    return await driver.now_ms() > end_ms + 5_000

                await wait_for(over, "the scenario's end", WAIT_S)
                await asyncio.sleep(1.0)  # the last publishes reach the listener
                async with httpx.AsyncClient(timeout=10.0) as http:
                    answer = await http.get(f"{replicas[survivor].base_url}/status")
                    survivor_status = answer.json()
            finally:
                await client.stop()
                await driver.stop()
            # The survivor took the symbol while the imbalance was still on: an episode
            # already under way is its predecessor's, so it is not signalled again.
            assert collected.of(CONTESTED) == [signal]
            assert signal["strategy_id"] == "orderbook_imbalance"
            assert signal["action"] == "buy"
            stats = survivor_status["owned"][f"futures:{CONTESTED}"]["stats"]
            assert stats["orderbook_imbalance"]["evaluations"] > 0
            (record,) = await dm.query("realtime_signals", {"_id": signal["signal_id"]})
            assert record["owner"] == victim
    finally:
        for replica in replicas.values():
            replica.stop()
        with contextlib.suppress(Exception):
            await listener.jetstream().delete_stream(stream)
        await listener.close()
        data_manager.stop()
    spans = holdings([tmp_path / f"{name}.jsonl" for name in ("rt-a", "rt-b")])
    contested = spans[f"realtime:futures:{CONTESTED}"]
    assert {span["owner"] for span in contested} == {victim, survivor}
    for before, after in itertools.pairwise(contested):
        assert after["token"] > before["token"]
        assert after["start"] >= before["end"], (before, after)  # never two holders at once
    (victims,) = [span for span in contested if span["token"] == record["fencing_token"]]
    assert victims["owner"] == victim
    assert contested[-1]["owner"] == survivor
    assert contested[-1]["token"] > record["fencing_token"]
