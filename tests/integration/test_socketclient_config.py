"""Changing the socket client's streams while it runs, through the Data Manager.

Servers: a real ``petrosa data-manager serve`` on SQLite (the ``socketclient.streams``
configuration document), a real ``petrosa exchange-sim serve`` (running clock), NATS at
127.0.0.1:4222; the client runs in-process and reads the document through
``DataManagerClient``, as ``petrosa socket-client serve`` does.

A changed document is applied with SUBSCRIBE/UNSUBSCRIBE on the open connection: the
simulator lists the new streams on the same connection id. Documents changed faster than the
client may send control messages (spot: 5 per second, or the simulator closes the
connection) are applied paced: the connection survives them all. A bad document is ignored
and the streams stay as they were.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from petrosa.client import DataManagerClient
from petrosa.contracts.market import Market
from petrosa.socketclient.plan import build_plan
from petrosa.socketclient.service import SocketClient
from petrosa.socketclient.settings import DEFAULT_CONFIG_KEY, SocketClientSettings
from tests.integration.test_socketclient_faults import reconnects
from tests.integration.test_socketclient_simulator import (
    NATS_URL,
    SYMBOLS,
    collecting,
    start_simulator,
    wait_for,
    ws_base,
)
from tests.support.server import RunningServer, start_data_manager
from tests.support.services import NATS_HOST, NATS_PORT, require_port

pytestmark = pytest.mark.integration
START_STREAMS = ("aggTrade", "depth@100ms")
FLIPS = 10
FLIP_EVERY_S = 0.15
"""Two control messages per applied change: unpaced, this would be ~13 per second."""


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_simulator(tmp_path_factory.mktemp("sim-config"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def data_manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    directory: Path = tmp_path_factory.mktemp("dm-config")
    server = start_data_manager(f"sqlite:///{directory / 'dm.db'}", directory)
    yield server
    server.stop()


@pytest.fixture
async def dm(data_manager: RunningServer) -> AsyncIterator[DataManagerClient]:
    require_port("NATS", NATS_HOST, NATS_PORT)
    async with DataManagerClient(data_manager.base_url) as client:
        yield client


async def listing(simulator: RunningServer) -> list[tuple[int, list[str]]]:
    """(connection id, sorted streams) of every open stream connection of the simulator."""
    async with httpx.AsyncClient(base_url=simulator.base_url, timeout=30.0) as http:
        connections = (await http.get("/sim/ws/connections")).json()["connections"]
    return [(c["id"], sorted(c["streams"])) for c in connections]


def names(symbols: tuple[str, ...], streams: tuple[str, ...]) -> list[str]:
    plan = build_plan((Market.SPOT,), symbols, streams, books=False)
    return sorted(s.name for s in plan.streams)


async def test_a_changed_document_resubscribes_on_the_open_connection_paced(
    simulator: RunningServer, dm: DataManagerClient
) -> None:
    settings = SocketClientSettings(
        markets=(Market.SPOT,),
        symbols=SYMBOLS,
        streams=START_STREAMS,
        books=False,
        spot_ws_url=ws_base(simulator),
        nats_url=NATS_URL,
        config_poll_s=0.1,
    )
    plan = build_plan(settings.markets, SYMBOLS, settings.streams, books=False)
    client = SocketClient(settings, plan, fetchers={}, read_config=dm.get_app_config)
    control_errors = client.metrics.control_errors.labels("spot")

    async def write(document: Any) -> int:
        stored = await dm.set_app_config(DEFAULT_CONFIG_KEY, document, changed_by="test")
        return stored.version

    async def listed(expected: list[str]) -> bool:
        return [streams for _, streams in await listing(simulator)] == [expected]

    three = (*SYMBOLS, "BNBUSDT")
    async with collecting(three) as collector:
        await client.start()
        try:
            await wait_for(lambda: listed(names(SYMBOLS, START_STREAMS)), "the first streams")
            [(connection_id, _)] = await listing(simulator)

            await write({"streams": ["aggTrade", "bookTicker"]})
            await wait_for(lambda: listed(names(SYMBOLS, ("aggTrade", "bookTicker"))), "swap")
            await wait_for(
                lambda: collector.count("binance.spot.bookTicker.ETHUSDT") > 0, "book tickers"
            )

            # Faster than the limit allows unpaced: each change is an UNSUBSCRIBE and a
            # SUBSCRIBE on the same connection.
            for flip in range(FLIPS):
                extra = "kline_1m" if flip % 2 else "bookTicker"
                await write({"streams": ["aggTrade", extra], "symbols": list(SYMBOLS)})
                await asyncio.sleep(FLIP_EVERY_S)
            final = ("aggTrade", "kline_1m")
            await write({"streams": list(final), "symbols": list(three)})
            await wait_for(lambda: listed(names(three, final)), "the final streams")
            await wait_for(
                lambda: collector.count("binance.spot.kline_1m.BNBUSDT") > 0, "the new symbol"
            )
            assert [connection_id] == [c for c, _ in await listing(simulator)]
            assert reconnects(client, "closed") == reconnects(client, "control_error") == 0
            assert control_errors._value.get() == 0

            # Bad documents: refused, logged, the streams kept.
            for bad in ({"symbols": ["btcusdt"]}, {"streams": ["markPrice"]}, ["aggTrade"]):
                version = await write(bad)

                def read(version: int = version) -> bool:
                    return client.config_version == version

                await wait_for(read, f"{bad} read")
                assert sorted(s.name for s in client.plan.streams) == names(three, final)
            assert await listed(names(three, final))
            assert [connection_id] == [c for c, _ in await listing(simulator)]
            await wait_for(lambda: not client.readiness_problems(), "readiness")
        finally:
            await client.stop()
            await dm.set_app_config(DEFAULT_CONFIG_KEY, {}, changed_by="test")
