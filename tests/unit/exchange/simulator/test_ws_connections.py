"""Stream connections run by the hub over in-memory ASGI channels: control messages, frames,
the message limit, the lifetime, drops and ``serverShutdown`` (no server, no sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from petrosa.exchange.simulator.clock import ManualClock
from petrosa.exchange.simulator.settings import SimulatorSettings
from petrosa.exchange.simulator.ws.endpoints import parse_endpoint
from petrosa.exchange.simulator.ws.hub import StreamHub
from tests.unit.exchange.simulator.ws_support import FakeMonotonic, FeedRecorder

NOW_MS = 1_748_781_296_700
DEADLINE_S = 30.0
"""Generous: waits end on a condition, this only bounds a broken test."""


@dataclass
class Client:
    """One connection's ASGI channels, seen from the client's side."""

    hub: StreamHub
    task: asyncio.Task[None] | None = None
    inbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    outbox: asyncio.Queue[MutableMapping[str, Any]] = field(default_factory=asyncio.Queue)

    async def open(self, path: str, query: bytes = b"") -> MutableMapping[str, Any]:
        endpoint = parse_endpoint(path, query)
        assert endpoint is not None
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": query,
            "extensions": {"websocket.http.response": {}},
        }
        self.inbox.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.create_task(
            self.hub.serve(endpoint, scope, self.inbox.get, self.outbox.put)
        )
        return await self.next()

    async def next(self) -> MutableMapping[str, Any]:
        return await asyncio.wait_for(self.outbox.get(), DEADLINE_S)

    async def request(self, body: dict[str, Any]) -> Any:
        self.say(orjson.dumps(body).decode())
        return await self.text()

    def say(self, text: str) -> None:
        self.inbox.put_nowait({"type": "websocket.receive", "text": text})

    async def text(self) -> Any:
        message = await self.next()
        assert message["type"] == "websocket.send", message
        return orjson.loads(message["text"])

    async def closed(self) -> MutableMapping[str, Any]:
        """The close message, after any frames still queued."""
        while (message := await self.next())["type"] == "websocket.send":
            pass
        assert message["type"] == "websocket.close", message
        assert self.task is not None
        await asyncio.wait_for(self.task, DEADLINE_S)
        return message


@dataclass
class World:
    hub: StreamHub
    clock: ManualClock
    monotonic: FakeMonotonic
    feeds: FeedRecorder

    def client(self) -> Client:
        return Client(self.hub)


def world(**settings: Any) -> World:
    clock = ManualClock(NOW_MS)
    monotonic = FakeMonotonic()
    feeds = FeedRecorder()
    hub = StreamHub(
        SimulatorSettings(ws_tick_ms=1, **settings),
        clock_ms=clock.now_ms,
        open_feed=feeds,
        monotonic=monotonic,
    )
    return World(hub, clock, monotonic, feeds)


@pytest.fixture
async def sim() -> AsyncIterator[World]:
    made = world(ws_spot_messages_per_s=100)  # the monotonic clock stands still
    yield made
    made.hub.drop()


async def test_control_messages_get_binances_replies(sim: World) -> None:
    client = sim.client()
    assert (await client.open("/ws"))["type"] == "websocket.accept"
    subscribe = {"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "ethusdt@depth"], "id": 1}
    assert await client.request(subscribe) == {"result": None, "id": 1}
    listing = await client.request({"method": "LIST_SUBSCRIPTIONS", "id": 2})
    assert listing == {"result": ["btcusdt@aggTrade", "ethusdt@depth"], "id": 2}
    unsubscribe = {"method": "UNSUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 3}
    assert await client.request(unsubscribe) == {"result": None, "id": 3}
    get = {"method": "GET_PROPERTY", "params": ["combined"], "id": 4}
    assert await client.request(get) == {"result": False, "id": 4}
    put = {"method": "SET_PROPERTY", "params": ["combined", True], "id": 5}
    assert await client.request(put) == {"result": None, "id": 5}
    assert await client.request({**get, "id": 6}) == {"result": True, "id": 6}
    refused = await client.request({"method": "SUBSCRIBE", "params": ["btcusdt@nope"], "id": 7})
    assert refused["error"]["code"] == 2
    assert refused["id"] == 7
    [connection] = sim.hub.connections()
    assert connection.describe()["streams"] == ["ethusdt@depth"]


async def test_frames_follow_the_clock_and_the_combined_property(sim: World) -> None:
    client = sim.client()
    await client.open("/stream", b"streams=btcusdt@aggTrade")
    sim.clock.advance(100)
    payload = {"n": 1, "s": "btcusdt@aggTrade"}
    assert await client.text() == {"stream": "btcusdt@aggTrade", "data": payload}
    put = {"method": "SET_PROPERTY", "params": ["combined", False], "id": 1}
    assert await client.request(put) == {"result": None, "id": 1}
    sim.clock.advance(100)
    assert await client.text() == {"n": 2, "s": "btcusdt@aggTrade"}


async def test_one_message_over_the_limit_closes_the_connection() -> None:
    sim = world(ws_spot_messages_per_s=3)
    client = sim.client()
    await client.open("/ws")
    for request_id in range(4):
        client.say(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": request_id}).decode())
    for request_id in range(3):
        assert await client.text() == {"result": [], "id": request_id}
    close = await client.closed()
    assert close["code"] == 1008
    assert "over 3/s" in close["reason"]
    assert sim.hub.connections() == []


async def test_futures_connections_have_their_own_limit() -> None:
    sim = world(ws_spot_messages_per_s=1, ws_futures_messages_per_s=2)
    client = sim.client()
    await client.open("/market/ws")
    for request_id in range(2):
        assert await client.request({"method": "LIST_SUBSCRIPTIONS", "id": request_id})
    sim.monotonic.now += 1.0
    assert await client.request({"method": "LIST_SUBSCRIPTIONS", "id": 3})
    client.say("{}")
    client.say("{}")
    assert (await client.text())["error"]["code"] == 2
    assert (await client.closed())["code"] == 1008


async def test_the_lifetime_ends_the_connection() -> None:
    sim = world(ws_max_lifetime_s=0.05)
    client = sim.client()
    await client.open("/ws/btcusdt@trade")
    close = await client.closed()
    assert close["code"] == 1001
    assert "lifetime" in close["reason"]


async def test_drop_closes_the_chosen_connections_only(sim: World) -> None:
    spot, public, market = sim.client(), sim.client(), sim.client()
    await spot.open("/ws")
    await public.open("/public/ws")
    await market.open("/market/ws")
    assert sim.hub.drop(route=parse_endpoint("/public/ws").route) == 1  # type: ignore[union-attr]
    assert (await public.closed())["code"] == 1011
    assert [c.path for c in sim.hub.connections()] == ["/ws", "/market/ws"]


async def test_server_shutdown_is_announced_on_spot_then_every_connection_closes(
    sim: World,
) -> None:
    spot, futures = sim.client(), sim.client()
    await spot.open("/stream", b"streams=btcusdt@aggTrade")
    await futures.open("/market/stream", b"streams=btcusdt@aggTrade")
    assert sim.hub.shut_down() == 2
    assert await spot.text() == {"e": "serverShutdown", "E": NOW_MS}
    assert (await spot.closed())["code"] == 1001
    futures_close = await futures.next()
    assert futures_close["type"] == "websocket.close"
    assert futures_close["code"] == 1001


async def test_a_url_naming_an_unknown_stream_is_refused_at_the_handshake(sim: World) -> None:
    client = sim.client()
    start = await client.open("/public/stream", b"streams=btcusdt@trade")
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 400
    body = await client.next()
    assert b"unknown stream `btcusdt@trade`" in body["body"]
    assert sim.hub.connections() == []


async def test_a_client_that_leaves_is_forgotten(sim: World) -> None:
    client = sim.client()
    await client.open("/ws")
    assert len(sim.hub.connections()) == 1
    client.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
    assert client.task is not None
    await asyncio.wait_for(client.task, DEADLINE_S)
    assert sim.hub.connections() == []
