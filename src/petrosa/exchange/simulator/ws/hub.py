"""Every open stream connection of the simulator, the rules they follow and the faults that
reach them.

``StreamHub.serve`` runs one connection from handshake to close. A URL naming a stream that
does not exist on its market (or more than the per-connection limit) is refused at the
handshake with HTTP 400 and a one-line reason, instead of a connection that would never
deliver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import orjson
from starlette.types import Receive, Scope, Send

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import Route, Stream
from petrosa.exchange.simulator.feeds import Feed
from petrosa.exchange.simulator.settings import SimulatorSettings
from petrosa.exchange.simulator.ws.commands import CommandError
from petrosa.exchange.simulator.ws.connection import (
    GOING_AWAY,
    INTERNAL_ERROR,
    CloseOrder,
    StreamConnection,
)
from petrosa.exchange.simulator.ws.endpoints import Endpoint
from petrosa.exchange.simulator.ws.faults import FaultBoard
from petrosa.exchange.simulator.ws.feeds import FeedOpener
from petrosa.exchange.simulator.ws.firehose import FirehoseFeed
from petrosa.exchange.simulator.ws.limits import MessageRate
from petrosa.exchange.simulator.ws.subscriptions import Subscriptions

logger = logging.getLogger(__name__)

_MS_PER_S = 1_000
BAD_REQUEST = 400
SHUTDOWN_GRACE_S = 2.0
"""How long a shutdown waits for connections to take their close frame."""


class StreamHub:
    """The simulator's stream connections."""

    def __init__(
        self,
        settings: SimulatorSettings,
        *,
        clock_ms: Callable[[], int],
        open_feed: FeedOpener,
        faults: FaultBoard | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.faults = faults or FaultBoard(monotonic=monotonic)
        self._monotonic = monotonic
        self._clock_ms = clock_ms
        self._open_market_feed = open_feed
        self._connections: dict[int, StreamConnection] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def connections(
        self, *, market: Market | None = None, route: Route | None = None
    ) -> list[StreamConnection]:
        """Open connections, optionally only one market's or one route's."""
        return [
            connection
            for connection in self._connections.values()
            if (market is None or connection.endpoint.market is market)
            and (route is None or connection.endpoint.route is route)
        ]

    def drop(self, *, market: Market | None = None, route: Route | None = None) -> int:
        """Close these connections as a failing server would; how many there were."""
        chosen = self.connections(market=market, route=route)
        for connection in chosen:
            connection.close(CloseOrder(INTERNAL_ERROR, "dropped by /sim/ws/drop"))
        return len(chosen)

    def shut_down(self, *, market: Market | None = None) -> int:
        """``serverShutdown`` (spot has the event; futures simply close), then close."""
        chosen = self.connections(market=market)
        for connection in chosen:
            farewell = None
            if connection.endpoint.market is Market.SPOT:
                farewell = orjson.dumps({"e": "serverShutdown", "E": self._clock_ms()}).decode()
            connection.close(CloseOrder(GOING_AWAY, "server shutdown", farewell))
        return len(chosen)

    async def shut_down_all(self) -> None:
        """Before the process stops: announce the shutdown and let the closes go out."""
        if self.shut_down() == 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), SHUTDOWN_GRACE_S)

    async def serve(self, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
        """One connection, from the handshake to its close."""
        connect = await receive()
        if connect["type"] != "websocket.connect":
            return
        settings = self.settings
        subscriptions = Subscriptions(
            endpoint,
            open_feed=self._open_feed,
            faults=self.faults,
            max_streams=settings.ws_max_streams,
        )
        try:
            subscriptions.add(endpoint.streams, self._clock_ms())
        except CommandError as error:
            logger.info("stream connection refused: %s", error.msg)
            await _refuse(scope, send, error.msg)
            return
        per_second = (
            settings.ws_spot_messages_per_s
            if endpoint.market is Market.SPOT
            else settings.ws_futures_messages_per_s
        )
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope["path"] + (f"?{query}" if query else "")
        connection = StreamConnection(
            endpoint,
            subscriptions,
            path=path,
            clock_ms=self._clock_ms,
            rate=MessageRate(per_second, monotonic=self._monotonic),
            tick_s=settings.ws_tick_ms / _MS_PER_S,
            lifetime_s=settings.ws_max_lifetime_s,
        )
        await send({"type": "websocket.accept"})
        self._connections[connection.id] = connection
        self._idle.clear()
        try:
            await connection.run(receive, send)
        finally:
            del self._connections[connection.id]
            if not self._connections:
                self._idle.set()

    def _open_feed(self, stream: Stream, now_ms: int) -> Feed | None:
        rate = self.settings.ws_firehose_rate
        if rate > 0 and stream.type.kind in self.settings.ws_firehose_streams:
            return FirehoseFeed(stream, rate)
        return self._open_market_feed(stream, now_ms)


async def _refuse(scope: Scope, send: Send, reason: str) -> None:
    """Reject the handshake: HTTP 400 with the reason where the server allows a body."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
        return
    body = orjson.dumps({"code": CommandError.INVALID_REQUEST, "msg": reason})
    await send(
        {
            "type": "websocket.http.response.start",
            "status": BAD_REQUEST,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "websocket.http.response.body", "body": body})
