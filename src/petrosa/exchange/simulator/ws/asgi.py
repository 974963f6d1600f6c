"""Routes stream paths (``/ws``, ``/stream``, ``/public/…``, ``/market/…``) to the hub ahead
of the HTTP app, so frames pass no HTTP middleware on their way out."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from petrosa.exchange.simulator.ws.endpoints import parse_endpoint
from petrosa.exchange.simulator.ws.hub import StreamHub


class StreamRoutes:
    """ASGI middleware: WebSocket requests for stream paths go to ``hub``, the rest on."""

    def __init__(self, app: ASGIApp, hub: StreamHub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            endpoint = parse_endpoint(scope["path"], scope.get("query_string", b""))
            if endpoint is not None:
                await self.hub.serve(endpoint, scope, receive, send)
                return
        await self.app(scope, receive, send)
