"""The socket client against real NATS (127.0.0.1:4222) and a real WebSocket server.

The server here is a small ``websockets`` server written for these tests: USD-M's routed
combined-stream paths, each stream's events generated once and sent to every connection
subscribed to it (so ids continue across connections and two overlapping connections see
the same events, as on Binance), and switches to drop every connection, refuse new ones and
stall a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import nats
import orjson
import pytest
from fastapi import FastAPI
from nats.aio.msg import Msg
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import parse_stream
from petrosa.socketclient.api import add_routes
from petrosa.socketclient.plan import build_plan
from petrosa.socketclient.service import SocketClient
from petrosa.socketclient.settings import SocketClientSettings
from tests.support.services import NATS_HOST, NATS_PORT, require_port
from tests.support.tcp_proxy import FaultyTcpProxy

pytestmark = pytest.mark.integration
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"
WAIT_S = 90.0
TICK_S = 0.02


class FakeBinance:
    """Combined streams on ``/public/stream`` and ``/market/stream`` with Binance's routing."""

    def __init__(self) -> None:
        self.next_id: dict[str, int] = defaultdict(lambda: 1)
        self.connections: set[ServerConnection] = set()
        self.subscribers: dict[str, set[ServerConnection]] = defaultdict(set)
        self.symbols: dict[str, str] = {}
        self._ticker: asyncio.Task[None] | None = None
        self.refusing = False
        self.stalled: set[str] = set()
        """Stream names that get no frames (the connection stays open)."""
        self.opened = 0
        self.paths: list[str] = []
        self.server: Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = next(iter(self.server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def start(self) -> None:
        self.server = await serve(self._handle, "127.0.0.1", 0, process_request=self._gate)
        self._ticker = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        assert self.server is not None
        assert self._ticker is not None
        self._ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._ticker
        self.server.close()
        await self.server.wait_closed()

    def _gate(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.refusing:
            return connection.respond(503, "down for the test\n")
        return None

    async def drop_all(self) -> None:
        for connection in list(self.connections):
            await connection.close(1001, "dropped by the test")

    async def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        url = urlsplit(connection.request.path)
        self.paths.append(url.path)
        route = url.path.removesuffix("/stream").strip("/")
        names = parse_qs(url.query)["streams"][0].split("/")
        streams = [parse_stream(name, Market.FUTURES) for name in names]
        served = [s for s in streams if s.type.route.value == route]
        self.connections.add(connection)
        self.opened += 1
        for stream in served:
            self.symbols[stream.name] = stream.symbol
            self.subscribers[stream.name].add(connection)
        try:
            await connection.wait_closed()
        finally:
            self.connections.discard(connection)
            for stream in served:
                self.subscribers[stream.name].discard(connection)

    async def _tick(self) -> None:
        while True:
            for name, connections in list(self.subscribers.items()):
                if not connections or name in self.stalled:
                    continue
                payload = orjson.dumps(self._frame(name, self.symbols[name]))
                for connection in list(connections):
                    with contextlib.suppress(Exception):
                        await connection.send(payload)
            await asyncio.sleep(TICK_S)

    def _frame(self, name: str, symbol: str) -> dict[str, Any]:
        number = self.next_id[name]
        self.next_id[name] += 1
        now = int(time.time() * 1000)
        kind = name.partition("@")[2]
        data: dict[str, Any]
        if kind == "aggTrade":
            data = {"e": "aggTrade", "E": now, "s": symbol, "a": number, "p": "1.5", "q": "2"}
        elif kind == "bookTicker":
            data = {"e": "bookTicker", "u": number, "E": now, "s": symbol, "b": "1", "a": "2"}
        else:  # kline_1m: one candle, a new event time per update
            data = {"e": "kline", "E": 1_000_000 + number, "s": symbol, "k": {"t": 60_000}}
        return {"stream": name, "data": data}


@pytest.fixture
async def exchange() -> AsyncIterator[FakeBinance]:
    fake = FakeBinance()
    await fake.start()
    yield fake
    await fake.stop()


def client_for(exchange: FakeBinance, nats_url: str, **overrides: Any) -> SocketClient:
    symbols = ("T" + uuid.uuid4().hex[:6].upper() + "USDT", "E" + uuid.uuid4().hex[:6].upper())
    settings = SocketClientSettings(
        markets=(Market.FUTURES,),
        symbols=symbols,
        streams=("aggTrade", "kline_1m", "bookTicker"),
        books=False,
        futures_ws_url=exchange.url,
        nats_url=nats_url,
        event_quiet_s=5.0,
        backoff_max_s=2.0,
        **overrides,
    )
    plan = build_plan(settings.markets, settings.symbols, settings.streams, books=False)
    return SocketClient(settings, plan, fetchers={})


class Collector:
    """Every NATS message under ``binance.futures.*.*`` of the test's symbols."""

    def __init__(self, symbols: tuple[str, ...]) -> None:
        self.symbols = symbols
        self.messages: list[Msg] = []

    async def take(self, message: Msg) -> None:
        if message.subject.rsplit(".", 1)[1] in self.symbols:
            self.messages.append(message)

    def ids_per_stream(self) -> dict[str, list[int]]:
        ids: dict[str, list[int]] = defaultdict(list)
        for message in self.messages:
            body = orjson.loads(message.data)
            data = body["data"]
            kind = body["stream"].partition("@")[2]
            ids[body["stream"]].append(data[{"aggTrade": "a", "bookTicker": "u"}.get(kind, "E")])
        return ids


@contextlib.asynccontextmanager
async def collecting(symbols: tuple[str, ...]) -> AsyncIterator[Collector]:
    listener = await nats.connect(NATS_URL)
    collector = Collector(symbols)
    await listener.subscribe("binance.futures.*.*", cb=collector.take)
    await listener.flush()
    try:
        yield collector
    finally:
        await listener.drain()


async def wait_for(condition: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def assert_in_order_without_repeats(ids: dict[str, list[int]]) -> None:
    for name, numbers in ids.items():
        assert numbers == sorted(set(numbers)), f"{name}: repeated or out of order"


async def readiness(client: SocketClient) -> httpx.Response:
    app = FastAPI()
    add_routes(app)
    app.state.client = client
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sc") as http:
        return await http.get("/health/readiness")


async def test_every_message_is_on_its_own_streams_subject(exchange: FakeBinance) -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    client = client_for(exchange, NATS_URL)
    symbols = client.settings.symbols
    async with collecting(symbols) as collector:
        await client.start()
        try:
            await wait_for(lambda: len(collector.messages) >= 300, "300 messages")
            await wait_for(lambda: not client.readiness_problems(), "readiness")
            assert (await readiness(client)).status_code == 200
        finally:
            await client.stop()
    assert set(exchange.paths) == {"/public/stream", "/market/stream"}
    seen = set()
    for message in collector.messages:
        _, market, token, symbol = message.subject.split(".")
        body = orjson.loads(message.data)
        assert market == "futures"
        assert body["stream"] == f"{symbol.lower()}@{token}"
        assert body["data"]["s"] == symbol
        assert message.headers is not None
        assert message.headers["Nats-Msg-Id"].startswith(body["stream"] + ":")
        assert isinstance(body["received_at"], int)
        seen.add((token, symbol))
    assert seen == {(t, s) for t in ("aggTrade", "kline_1m", "bookTicker") for s in symbols}
    assert_in_order_without_repeats(collector.ids_per_stream())


async def test_a_dropped_connection_recovers_and_readiness_tells_the_truth(
    exchange: FakeBinance,
) -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    client = client_for(exchange, NATS_URL)
    async with collecting(client.settings.symbols) as collector:
        await client.start()
        try:
            await wait_for(lambda: not client.readiness_problems(), "readiness")
            exchange.refusing = True
            await exchange.drop_all()
            await wait_for(lambda: any("not open" in p for p in client.readiness_problems()), "503")
            response = await readiness(client)
            assert response.status_code == 503
            assert any("not open" in p for p in response.json()["problems"])
            before = len(collector.messages)
            exchange.refusing = False
            await wait_for(lambda: not client.readiness_problems(), "readiness again")
            await wait_for(lambda: len(collector.messages) > before + 100, "data again")
            assert (await readiness(client)).status_code == 200
            reconnects = client.metrics.reconnects.labels("futures", "market", "closed")
            assert reconnects._value.get() >= 1
        finally:
            await client.stop()
    assert_in_order_without_repeats(collector.ids_per_stream())


async def test_frames_wait_in_the_queue_while_nats_is_unreachable(exchange: FakeBinance) -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    proxy = FaultyTcpProxy(NATS_HOST, NATS_PORT).start()
    proxy.set_mode("refuse")
    client = client_for(exchange, f"nats://127.0.0.1:{proxy.port}")
    try:
        async with collecting(client.settings.symbols) as collector:
            await client.start()
            try:
                await wait_for(lambda: all(len(s.queue) > 50 for s in client.all_slots()), "queue")
                assert "nats not connected" in client.readiness_problems()
                assert not collector.messages
                proxy.set_mode("forward")
                await wait_for(lambda: not client.readiness_problems(), "readiness")
                await wait_for(lambda: len(collector.messages) > 400, "the buffered frames")
            finally:
                await client.stop()
        ids = collector.ids_per_stream()
        assert_in_order_without_repeats(ids)
        for name, numbers in ids.items():
            assert numbers[0] == (1 if "kline" not in name else 1_000_001), name
    finally:
        proxy.stop()


async def test_a_full_queue_drops_and_counts(exchange: FakeBinance) -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    proxy = FaultyTcpProxy(NATS_HOST, NATS_PORT).start()
    proxy.set_mode("refuse")
    client = client_for(exchange, f"nats://127.0.0.1:{proxy.port}", queue_size=10)
    try:
        await client.start()
        dropped = client.metrics.dropped.labels("futures", "queue_full")
        await wait_for(lambda: dropped._value.get() > 20, "drops counted")
        assert all(len(slot.queue) == 10 for slot in client.all_slots())
        assert all(slot.current is not None and slot.current.is_open for slot in client.all_slots())
    finally:
        await client.stop()
        proxy.stop()


def assert_contiguous(ids: dict[str, list[int]]) -> None:
    for name, numbers in ids.items():
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), f"{name}: gap"


async def test_rotation_opens_the_replacement_first_without_gap_or_repeat(
    exchange: FakeBinance,
) -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    client = client_for(exchange, NATS_URL, rotate_after_s=1.5, rotate_jitter_s=0.0)
    rotations = client.metrics.reconnects.labels("futures", "market", "rotation")
    async with collecting(client.settings.symbols) as collector:
        await client.start()
        try:
            await wait_for(lambda: rotations._value.get() >= 2, "two rotations")
            # two slots, each opened once and replaced at least once: the rotation counter
            # moves before the replacement is open, so wait for the connections themselves
            await wait_for(lambda: exchange.opened >= 4, "replacements opened")
            await wait_for(lambda: not client.readiness_problems(), "readiness")
        finally:
            await client.stop()
    ids = collector.ids_per_stream()
    assert_in_order_without_repeats(ids)
    assert_contiguous(ids)


async def test_a_stalled_stream_makes_its_connection_reconnect(exchange: FakeBinance) -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    client = client_for(exchange, NATS_URL)
    stalls = client.metrics.reconnects.labels("futures", "public", "stalled")
    await client.start()
    try:
        await wait_for(lambda: not client.readiness_problems(), "readiness")
        name = f"{client.settings.symbols[0].lower()}@bookTicker"
        exchange.stalled.add(name)
        await wait_for(lambda: any(name in p for p in client.readiness_problems()), "stale")
        assert (await readiness(client)).status_code == 503
        await wait_for(lambda: stalls._value.get() >= 1, "a watchdog reconnect")
        exchange.stalled.clear()
        await wait_for(lambda: not client.readiness_problems(), "readiness again")
    finally:
        await client.stop()
