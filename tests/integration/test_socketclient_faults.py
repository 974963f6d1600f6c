"""The socket client recovering from the simulator's faults, by itself.

Servers: real ``petrosa exchange-sim serve`` processes with a running clock (the market's own
feeds, whose ids are global as on Binance: a stream continues across connections), one of
them with a short connection lifetime; NATS at 127.0.0.1:4222. The client runs in-process.

For each fault (``/sim/ws/drop``, ``/sim/ws/stall``, ``/sim/ws/shutdown``, the lifetime
limit): the client reconnects or rotates and counts it, readiness reports the missing data
while it is missing (a :class:`ReadinessWatch` reads it on every turn of the event loop, so a
reconnect of a few milliseconds is seen too) and is 200 again after, and within each stream
no message is published twice or out of order (aggTrade ``a``, depth and bookTicker ``u``,
kline ``(t, E)``, markPrice ``E``, and unique ``Nats-Msg-Id``).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from petrosa.contracts.market import Market
from petrosa.socketclient.service import SocketClient
from tests.integration.test_socketclient import readiness
from tests.integration.test_socketclient_simulator import (
    SYMBOLS,
    Collector,
    ReadinessWatch,
    assert_on_own_subject,
    assert_once_and_in_order,
    collecting,
    depth_fetchers,
    new_client,
    start_simulator,
    wait_for,
)
from tests.support.server import RunningServer
from tests.support.services import NATS_HOST, NATS_PORT, require_port

pytestmark = pytest.mark.integration
STREAMS = ("aggTrade", "depth@100ms", "bookTicker", "kline_1m")
FUTURES_STREAMS = (*STREAMS, "markPrice@1s")
LIFETIME_S = 6.0
ROTATE_AFTER_S = 3.0
STALL_MS = 8_000
"""Longer than depth@100ms's silence limit (5 s): readiness must turn 503 meanwhile."""


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_simulator(tmp_path_factory.mktemp("sim-faults"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Connections end after ``LIFETIME_S`` (Binance: 24 h)."""
    options = ("--ws-max-lifetime-s", str(LIFETIME_S))
    server = start_simulator(tmp_path_factory.mktemp("sim-lifetime"), *options)
    yield server
    server.stop()


@pytest.fixture
async def control(simulator: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    require_port("NATS", NATS_HOST, NATS_PORT)
    async with httpx.AsyncClient(base_url=simulator.base_url, timeout=30.0) as http:
        yield http
        await http.post("/sim/ws/drop")


def reconnects(client: SocketClient, reason: str) -> float:
    """Connections replaced for ``reason``, over every endpoint."""
    total = 0.0
    for metric in client.metrics.reconnects.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels["reason"] == reason:
                total += sample.value
    return total


async def ready(client: SocketClient, what: str) -> None:
    await wait_for(lambda: not client.readiness_problems(), what)
    assert (await readiness(client)).status_code == 200


async def more_data(client: SocketClient, collector: Collector, count: int = 20) -> None:
    """Wait until every depth stream delivered ``count`` more messages."""
    subjects = [s.subject for s in client.plan.streams if "depth" in s.subject]
    marks = {s: collector.count(s) for s in subjects}
    await wait_for(lambda: all(collector.count(s) >= marks[s] + count for s in subjects), "data")


def check(collector: Collector) -> None:
    assert_on_own_subject(collector.messages)
    assert_once_and_in_order(collector.market_data())


async def test_dropped_connections_reconnect(
    simulator: RunningServer, control: httpx.AsyncClient
) -> None:
    markets = (Market.SPOT, Market.FUTURES)
    async with depth_fetchers(simulator, markets) as fetchers, collecting(SYMBOLS) as collector:
        client = new_client(simulator, markets=markets, streams=STREAMS, fetchers=fetchers)
        await client.start()
        watch = ReadinessWatch(client)
        try:
            await ready(client, "readiness")
            watch.start()
            dropped = (await control.post("/sim/ws/drop")).json()["dropped"]
            assert dropped == len(client.all_slots()) == 3  # spot, /public, /market
            await wait_for(lambda: reconnects(client, "closed") >= dropped, "reconnects")
            await ready(client, "readiness again")
            await more_data(client, collector)
            await watch.stop()
            assert watch.saw("not open"), watch.seen
        finally:
            await client.stop()
    check(collector)


async def test_a_stalled_stream_turns_readiness_503_until_it_delivers_again(
    simulator: RunningServer, control: httpx.AsyncClient
) -> None:
    async with (
        depth_fetchers(simulator, (Market.FUTURES,)) as fetchers,
        collecting(SYMBOLS) as collector,
    ):
        client = new_client(
            simulator, markets=(Market.FUTURES,), streams=FUTURES_STREAMS, fetchers=fetchers
        )
        await client.start()
        try:
            await ready(client, "readiness")
            name = "btcusdt@depth@100ms"
            stall: dict[str, str | int] = {"stream": name, "ms": STALL_MS, "market": "futures"}
            (await control.post("/sim/ws/stall", params=stall)).raise_for_status()
            await wait_for(
                lambda: any(f"{name}: silent" in p for p in client.readiness_problems()), "stale"
            )
            response = await readiness(client)
            assert response.status_code == 503
            assert any(name in problem for problem in response.json()["problems"])
            await wait_for(lambda: reconnects(client, "stalled") >= 1, "a watchdog reconnect")
            await ready(client, "readiness after the stall")
            await more_data(client, collector)
        finally:
            await client.stop()
    check(collector)


async def test_server_shutdown_makes_the_client_reconnect_at_once(
    simulator: RunningServer, control: httpx.AsyncClient
) -> None:
    async with (
        depth_fetchers(simulator, (Market.SPOT,)) as fetchers,
        collecting(SYMBOLS) as collector,
    ):
        client = new_client(
            simulator, markets=(Market.SPOT,), streams=(*STREAMS, "trade"), fetchers=fetchers
        )
        await client.start()
        watch = ReadinessWatch(client)
        try:
            await ready(client, "readiness")
            watch.start()
            closed = (await control.post("/sim/ws/shutdown", params={"market": "spot"})).json()
            assert closed == {"closed": 1}
            await wait_for(lambda: reconnects(client, "shutdown") >= 1, "the shutdown handled")
            await ready(client, "readiness again")
            await more_data(client, collector)
            await watch.stop()
            assert reconnects(client, "closed") == 0  # announced: no backoff, no plain close
        finally:
            await client.stop()
    check(collector)


async def test_rotation_before_the_lifetime_ends_leaves_no_gap(
    short_lived: RunningServer,
) -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    markets = (Market.SPOT, Market.FUTURES)
    async with depth_fetchers(short_lived, markets) as fetchers, collecting(SYMBOLS) as collector:
        client = new_client(
            short_lived,
            markets=markets,
            streams=STREAMS,
            fetchers=fetchers,
            rotate_after_s=ROTATE_AFTER_S,
            rotate_jitter_s=0.0,
        )
        await client.start()
        watch = ReadinessWatch(client)
        try:
            await ready(client, "readiness")
            watch.start()
            slots = len(client.all_slots())
            await wait_for(lambda: reconnects(client, "rotation") >= 2 * slots, "two rotations")
            await ready(client, "readiness after the rotations")
            await watch.stop()
            assert not watch.saw("not open"), watch.seen  # the replacement was open first
            assert reconnects(client, "closed") == 0  # the server never had to cut
        finally:
            await client.stop()
    check(collector)
    for subject in {m.subject for m in collector.messages if ".aggTrade." in m.subject}:
        ids = [m.body["data"]["a"] for m in collector.on(subject)]
        gaps = [(a, b) for a, b in itertools.pairwise(ids) if b != a + 1]
        assert not gaps, f"{subject}: aggregate trades lost across a rotation: {gaps[:3]}"


async def test_the_lifetime_limit_cuts_a_client_that_does_not_rotate_and_it_reconnects(
    short_lived: RunningServer,
) -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    async with (
        depth_fetchers(short_lived, (Market.FUTURES,)) as fetchers,
        collecting(SYMBOLS) as collector,
    ):
        client = new_client(
            short_lived, markets=(Market.FUTURES,), streams=FUTURES_STREAMS, fetchers=fetchers
        )
        await client.start()
        watch = ReadinessWatch(client)
        try:
            await ready(client, "readiness")
            watch.start()
            slots = len(client.all_slots())
            await wait_for(lambda: reconnects(client, "closed") >= slots, "the server's cut")
            await ready(client, "readiness again")
            await more_data(client, collector)
            await watch.stop()
            assert watch.saw("not open"), watch.seen
        finally:
            await client.stop()
    check(collector)
