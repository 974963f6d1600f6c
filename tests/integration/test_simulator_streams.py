"""The exchange simulator's WebSocket streams as clients meet them: a real ``petrosa
exchange-sim serve`` process, the ``websockets`` client (and one raw socket that never answers
pings). Needs no other server.

Data comes from the firehose (synthetic aggTrade, trade and bookTicker events at a fixed rate,
contiguous ids), which lets the tests check routing, framing, stalls and bursts through ids
rather than timing. Waits end on conditions, with generous deadlines.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import socket
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.server import RunningServer, start_exchange_simulator

pytestmark = pytest.mark.integration

CLOCK_START = "2025-06-01T12:34:00Z"
FIREHOSE_RATE = 200
"""Events per second per stream: plenty of frames, a few per poll tick."""
DEADLINE_S = 30.0
SHORT_LIFETIME_S = 3.0
PING_INTERVAL_S = 0.3
PONG_TIMEOUT_S = 0.6


def simulator_options(*extra: str) -> tuple[str, ...]:
    return (
        "--clock-start",
        CLOCK_START,
        "--freeze-clock",
        "--ws-firehose-rate",
        str(FIREHOSE_RATE),
        *extra,
    )


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_exchange_simulator(tmp_path_factory.mktemp("sim-ws"), *simulator_options())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def strict_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Short lifetime, fast pings and a pong deadline the raw socket misses."""
    options = simulator_options(
        "--ws-max-lifetime-s",
        str(SHORT_LIFETIME_S),
        "--ws-ping-interval-s",
        str(PING_INTERVAL_S),
        "--ws-pong-timeout-s",
        str(PONG_TIMEOUT_S),
    )
    server = start_exchange_simulator(tmp_path_factory.mktemp("sim-ws-strict"), *options)
    yield server
    server.stop()


@pytest.fixture
async def sim(simulator: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=simulator.base_url, timeout=DEADLINE_S) as client:
        yield client
        await client.post("/sim/ws/drop")
        await client.post("/sim/reset")


def ws_url(server: RunningServer, path: str) -> str:
    return server.base_url.replace("http://", "ws://") + path


async def frame(socket: ClientConnection) -> Any:
    return orjson.loads(await asyncio.wait_for(socket.recv(), DEADLINE_S))


async def reply(socket: ClientConnection, request: dict[str, Any]) -> Any:
    """Send a control message and return its reply, skipping market data in between."""
    await socket.send(orjson.dumps(request).decode())
    while True:
        received = await frame(socket)
        if "id" in received and ("result" in received or "error" in received):
            return received


async def close_of(socket: ClientConnection) -> tuple[int, str]:
    """Read until the server closes; its close code and reason."""
    try:
        while True:
            await asyncio.wait_for(socket.recv(), DEADLINE_S)
    except ConnectionClosed as closed:
        received = closed.rcvd
        assert received is not None, "closed without a close frame"
        return received.code, received.reason


async def test_combined_frames_carry_the_name_of_their_stream(simulator: RunningServer) -> None:
    names = ["btcusdt@aggTrade", "ethusdt@trade", "bnbusdt@bookTicker"]
    url = ws_url(simulator, "/stream?streams=" + "/".join(names))
    seen: Counter[str] = Counter()
    async with connect(url) as socket:
        while min(seen[name] for name in names) < 5:
            received = await frame(socket)
            assert set(received) == {"stream", "data"}
            stream = received["stream"]
            assert received["data"]["s"] == stream.partition("@")[0].upper()
            seen[stream] += 1
    assert set(seen) == set(names)


async def test_a_raw_stream_sends_bare_payloads(simulator: RunningServer) -> None:
    async with connect(ws_url(simulator, "/ws/ethusdt@aggTrade")) as socket:
        first, second = await frame(socket), await frame(socket)
    assert first["e"] == "aggTrade"
    assert first["s"] == "ETHUSDT"
    assert "M" in first  # spot aggTrades carry M
    assert second["a"] == first["a"] + 1


async def test_a_futures_stream_on_the_wrong_route_delivers_nothing(
    simulator: RunningServer,
) -> None:
    both = "btcusdt@bookTicker/btcusdt@aggTrade"
    async with connect(ws_url(simulator, f"/public/stream?streams={both}")) as public:
        streams = {(await frame(public))["stream"] for _ in range(3 * FIREHOSE_RATE // 2)}
        listed = await reply(public, {"method": "LIST_SUBSCRIPTIONS", "id": 1})
    assert streams == {"btcusdt@bookTicker"}  # 1.5 s of bookTickers, no aggTrade
    assert listed == {"result": ["btcusdt@bookTicker", "btcusdt@aggTrade"], "id": 1}
    async with connect(ws_url(simulator, "/market/ws/btcusdt@aggTrade")) as market:
        received = await frame(market)
    assert received["e"] == "aggTrade"
    assert "M" not in received  # futures aggTrades do not


async def test_subscribe_unsubscribe_list_and_properties(simulator: RunningServer) -> None:
    async with connect(ws_url(simulator, "/market/ws")) as socket:
        subscribe = {"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 1}
        assert await reply(socket, subscribe) == {"result": None, "id": 1}
        assert (await frame(socket))["s"] == "BTCUSDT"  # raw: /ws starts uncombined
        combined = {"method": "SET_PROPERTY", "params": ["combined", True], "id": 2}
        assert await reply(socket, combined) == {"result": None, "id": 2}
        assert (await frame(socket))["stream"] == "btcusdt@aggTrade"
        listed = await reply(socket, {"method": "LIST_SUBSCRIPTIONS", "id": 3})
        assert listed == {"result": ["btcusdt@aggTrade"], "id": 3}
        unsubscribe = {"method": "UNSUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 4}
        assert await reply(socket, unsubscribe) == {"result": None, "id": 4}
        assert await reply(socket, {"method": "LIST_SUBSCRIPTIONS", "id": 5}) == {
            "result": [],
            "id": 5,
        }
        spot_only = {"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 6}
        refused = await reply(socket, spot_only)
        assert refused["error"]["code"] == 2
        assert refused["id"] == 6
        bad_json = await reply(socket, {"method": "FETCH", "id": 7})
        assert bad_json["error"]["code"] == 2


async def test_more_messages_than_the_limit_close_the_connection(
    simulator: RunningServer,
) -> None:
    async with connect(ws_url(simulator, "/ws")) as socket:
        for request_id in range(30):  # spot allows 5 per second
            await socket.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": request_id}))
        code, reason = await close_of(socket)
    assert code == 1008
    assert "too many messages" in reason


async def test_a_url_naming_an_unknown_stream_is_refused(simulator: RunningServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(simulator, "/public/ws/btcusdt@trade")):
            pass
    assert refused.value.response.status_code == 400
    assert b"unknown stream" in refused.value.response.body


async def test_connections_are_listed_and_dropped(
    simulator: RunningServer, sim: httpx.AsyncClient
) -> None:
    async with (
        connect(ws_url(simulator, "/stream?streams=btcusdt@trade")) as spot,
        connect(ws_url(simulator, "/public/stream?streams=ethusdt@bookTicker")) as public,
    ):
        await frame(spot)
        await frame(public)
        listing = (await sim.get("/sim/ws/connections")).json()["connections"]
        assert sorted((c["route"], tuple(c["streams"])) for c in listing) == [
            ("public", ("ethusdt@bookTicker",)),
            ("spot", ("btcusdt@trade",)),
        ]
        assert (await sim.post("/sim/ws/drop", params={"route": "public"})).json() == {"dropped": 1}
        assert (await close_of(public))[0] == 1011
        assert (await frame(spot))["stream"] == "btcusdt@trade"
        assert (await sim.post("/sim/ws/drop")).json() == {"dropped": 1}
        assert (await close_of(spot))[0] == 1011
    assert (await sim.get("/sim/ws/connections")).json() == {"connections": []}


async def test_server_shutdown_is_announced_then_the_connection_closes(
    simulator: RunningServer, sim: httpx.AsyncClient
) -> None:
    async with connect(ws_url(simulator, "/stream?streams=btcusdt@aggTrade")) as socket:
        await frame(socket)
        assert (await sim.post("/sim/ws/shutdown")).json() == {"closed": 1}
        while "stream" in (received := await frame(socket)):
            pass
        assert received["e"] == "serverShutdown"
        assert isinstance(received["E"], int)
        assert await close_of(socket) == (1001, "server shutdown")


async def test_a_stall_silences_one_stream_and_loses_its_events(
    simulator: RunningServer, sim: httpx.AsyncClient
) -> None:
    url = ws_url(simulator, "/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade")
    async with connect(url) as socket:
        await frame(socket)
        stalled = await sim.post("/sim/ws/stall", params={"stream": "btcusdt@aggTrade", "ms": 1000})
        assert stalled.status_code == 200
        previous: int | None = None
        others_meanwhile = 0
        while True:  # until the stalled stream comes back after a gap
            received = await frame(socket)
            if received["stream"] == "ethusdt@aggTrade":
                others_meanwhile += 1
                continue
            current = received["data"]["a"]
            if previous is not None and current > previous + 1:
                break
            previous, others_meanwhile = current, 0
    assert others_meanwhile > 0  # the connection and its other stream went on


async def test_a_burst_holds_a_streams_frames_then_sends_them_together(
    simulator: RunningServer, sim: httpx.AsyncClient
) -> None:
    url = ws_url(simulator, "/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade")
    async with connect(url) as socket:
        await frame(socket)
        held = await sim.post("/sim/ws/burst", params={"stream": "btcusdt@aggTrade", "ms": 1000})
        assert held.status_code == 200
        last_id: int | None = None
        run = 0
        while run < FIREHOSE_RATE // 2:  # half a second's frames back to back
            received = await frame(socket)
            if received["stream"] == "ethusdt@aggTrade":
                run = 0
                continue
            current = received["data"]["a"]
            assert last_id is None or current == last_id + 1  # nothing lost
            last_id = current
            run += 1


async def advance_until_frame(
    socket: ClientConnection, sim: httpx.AsyncClient, *, step_ms: int = 100
) -> Any:
    """Move the frozen clock on by ``step_ms`` until the socket delivers a frame."""
    while True:
        assert (await sim.post("/sim/clock/advance", params={"ms": step_ms})).status_code == 200
        try:
            return orjson.loads(await asyncio.wait_for(socket.recv(), QUIET_WAIT_S))
        except TimeoutError:
            continue  # nothing due yet (or a slow poll): more time, never a lost frame


QUIET_WAIT_S = 1.0


async def test_market_feeds_follow_the_simulated_clock(
    simulator: RunningServer, sim: httpx.AsyncClient
) -> None:
    names = "btcusdt@markPrice@1s/ethusdt@kline_1m"
    async with connect(ws_url(simulator, f"/market/stream?streams={names}")) as socket:
        seen: dict[str, Any] = {}
        while len(seen) < 2:
            received = await advance_until_frame(socket, sim, step_ms=1_000)
            seen[received["stream"]] = received["data"]
    mark = seen["btcusdt@markPrice@1s"]
    assert mark["e"] == "markPriceUpdate"
    assert mark["s"] == "BTCUSDT"
    assert {"p", "i", "P", "r", "T"} <= set(mark)
    kline = seen["ethusdt@kline_1m"]
    assert kline["e"] == "kline"
    assert kline["k"]["s"] == "ETHUSDT"
    assert kline["k"]["i"] == "1m"


@pytest.mark.parametrize("path", ["/stream", "/public/stream"])
async def test_a_skipped_update_breaks_the_diff_depth_chain(
    simulator: RunningServer, sim: httpx.AsyncClient, path: str
) -> None:
    futures = path.startswith("/public")

    def follows(update: dict[str, Any], previous: dict[str, Any]) -> bool:
        if futures:
            return bool(update["pu"] == previous["u"])
        return bool(update["U"] == previous["u"] + 1)

    async with connect(ws_url(simulator, f"{path}?streams=btcusdt@depth@100ms")) as socket:
        updates = [(await advance_until_frame(socket, sim))["data"] for _ in range(3)]
        assert all(follows(b, a) for a, b in itertools.pairwise(updates))
        market = "futures" if futures else "spot"
        skip = {"stream": "btcusdt@depth@100ms", "market": market}
        assert (await sim.post("/sim/ws/skip", params=skip)).status_code == 200
        after = (await advance_until_frame(socket, sim))["data"]
        assert after["u"] > updates[-1]["u"]
        assert not follows(after, updates[-1])  # the gap a client must resync on
        again = (await advance_until_frame(socket, sim))["data"]
        assert follows(again, after)  # one update skipped, then the chain goes on


async def test_fault_requests_are_checked(sim: httpx.AsyncClient) -> None:
    not_depth = await sim.post("/sim/ws/skip", params={"stream": "btcusdt@aggTrade"})
    assert not_depth.status_code == 400
    assert (await sim.post("/sim/ws/skip", params={"stream": "btcusdt@depth"})).status_code == 200
    futures_only: dict[str, str | int] = {"stream": "btcusdt@markPrice", "ms": 10, "market": "spot"}
    assert (await sim.post("/sim/ws/stall", params=futures_only)).status_code == 400
    no_time: dict[str, str | int] = {"stream": "btcusdt@aggTrade", "ms": 0}
    assert (await sim.post("/sim/ws/burst", params=no_time)).status_code == 422


async def test_the_lifetime_ends_a_connection(strict_simulator: RunningServer) -> None:
    async with connect(ws_url(strict_simulator, "/ws/btcusdt@aggTrade")) as socket:
        code, reason = await close_of(socket)
    assert code == 1001
    assert "lifetime" in reason


def test_a_client_that_never_answers_pings_is_disconnected(
    strict_simulator: RunningServer,
) -> None:
    host, port = strict_simulator.base_url.removeprefix("http://").split(":")
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        f"GET /ws/btcusdt@aggTrade HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=DEADLINE_S) as raw:
        raw.sendall(handshake.encode())
        received = b""
        while chunk := raw.recv(65_536):  # never answers a ping, just reads to the end
            received += chunk
    head, _, frames = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    opcodes = [(opcode, payload) for opcode, payload in server_frames(frames)]
    assert PING in [opcode for opcode, _ in opcodes]
    opcode, payload = opcodes[-1]
    assert opcode == CLOSE
    assert int.from_bytes(payload[:2], "big") == 1011  # keepalive timeout, before the lifetime


PING = 0x9
CLOSE = 0x8


def server_frames(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(opcode, payload) of each unmasked frame a server sent (RFC 6455 section 5.2)."""
    position = 0
    while position < len(data):
        opcode, length = data[position] & 0x0F, data[position + 1] & 0x7F
        position += 2
        if length >= 126:
            size = 2 if length == 126 else 8
            length = int.from_bytes(data[position : position + size], "big")
            position += size
        yield opcode, data[position : position + length]
        position += length


def test_stopping_the_server_announces_server_shutdown(tmp_path: Path) -> None:
    server = start_exchange_simulator(tmp_path, *simulator_options())

    async def watch() -> list[Any]:
        async with connect(ws_url(server, "/stream?streams=btcusdt@aggTrade")) as socket:
            await frame(socket)
            server.process.terminate()
            received: list[Any] = []
            try:
                while True:
                    received.append(await frame(socket))
            except ConnectionClosed:
                return received

    try:
        received = asyncio.run(watch())
    finally:
        server.stop()
    assert received[-1]["e"] == "serverShutdown"
