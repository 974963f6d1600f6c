"""The simulator's server process: uvicorn, set up for Binance's stream rules.

An ASGI app cannot send ping frames, so the keep-alive belongs to the server: uvicorn's
``websockets-sansio`` protocol pings every ``ws_ping_interval_s`` and closes (1011) a
connection whose pong has not come within ``ws_pong_timeout_s``. uvicorn has one setting for
every connection, so spot's 20 s / 60 s apply to futures connections too (Binance: 180 s /
600 s); a client that answers pings, as every WebSocket library does, sees no difference.
permessage-deflate is off unless ``ws_compression``: compressing each frame costs the
firehose most of its rate. Before uvicorn closes the WebSockets on shutdown (before the
app's lifespan could act), spot clients get ``serverShutdown``.
"""

from __future__ import annotations

import socket

import uvicorn

from petrosa.exchange.simulator.app import create_app
from petrosa.exchange.simulator.settings import SimulatorSettings
from petrosa.exchange.simulator.ws.hub import StreamHub


def run_server(settings: SimulatorSettings, *, log_level: str) -> None:
    """Serve the simulator until the process is told to stop."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
        log_config=None,
        ws="websockets-sansio",
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_pong_timeout_s,
        ws_per_message_deflate=settings.ws_compression,
    )
    AnnouncingServer(config, app.state.streams).run()


class AnnouncingServer(uvicorn.Server):
    """uvicorn's server, telling stream clients ``serverShutdown`` before it closes them."""

    def __init__(self, config: uvicorn.Config, streams: StreamHub) -> None:
        super().__init__(config)
        self.streams = streams

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.streams.shut_down_all()
        await super().shutdown(sockets)
