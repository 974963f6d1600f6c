"""HTTP: health and metrics of the socket client (it serves no data; NATS carries that).

``/health/liveness``: 503 when the event loop is wedged (the heartbeat task's last beat is
too old) or a task that must run forever ended. ``/health/readiness``: 503 with the reasons
unless every connection is open, NATS is connected, every stream delivered within its
silence limit and every maintained book is synced. ``/status``: streams, connections,
books. ``/metrics``: Prometheus.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from petrosa import __version__
from petrosa.contracts.market import Market
from petrosa.socketclient.book_sync import SnapshotFetcher
from petrosa.socketclient.plan import Plan
from petrosa.socketclient.service import ConfigReader, SocketClient
from petrosa.socketclient.settings import SocketClientSettings


@asynccontextmanager
async def running_client(settings: SocketClientSettings, plan: Plan) -> AsyncIterator[SocketClient]:
    """The client with its REST snapshot source and (with DATA_MANAGER_URL) its config reader."""
    from petrosa.client import DataManagerClient
    from petrosa.exchange.binance import BinanceClient

    async with AsyncExitStack() as stack:
        fetchers: dict[Market, SnapshotFetcher] = {}
        for market in {key.market for key in plan.books}:
            binance = await stack.enter_async_context(BinanceClient(market))
            fetchers[market] = binance.depth
        read_config: ConfigReader | None = None
        if settings.data_manager_url is not None and settings.config_poll_s > 0:
            dm = await stack.enter_async_context(DataManagerClient(settings.data_manager_url))
            read_config = dm.get_app_config
        client = SocketClient(settings, plan, fetchers=fetchers, read_config=read_config)
        await client.start()
        try:
            yield client
        finally:
            await client.stop()


def create_app(settings: SocketClientSettings, plan: Plan) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_client(settings, plan) as client:
            app.state.client = client
            yield

    app = FastAPI(title="petrosa socket client", version=__version__, lifespan=lifespan)
    add_routes(app)
    return app


def add_routes(app: FastAPI) -> None:
    def client_of(request: Request) -> SocketClient:
        client: SocketClient = request.app.state.client
        return client

    @app.get("/health/liveness", tags=["health"])
    async def liveness(request: Request) -> JSONResponse:
        problems = client_of(request).liveness_problems()
        body = {"status": "unavailable" if problems else "ok", "problems": problems}
        return JSONResponse(body, status_code=503 if problems else 200)

    @app.get("/health/readiness", tags=["health"])
    async def readiness(request: Request) -> JSONResponse:
        problems = client_of(request).readiness_problems()
        body = {"status": "unavailable" if problems else "ready", "problems": problems}
        return JSONResponse(body, status_code=503 if problems else 200)

    @app.get("/status", tags=["status"])
    async def status(request: Request) -> dict[str, Any]:
        client = client_of(request)
        return {
            "streams": sorted(s.name for s in client.plan.streams),
            "connections": [
                {
                    "slot": slot.label,
                    "open": slot.current is not None and slot.current.is_open,
                    "streams": len(slot.streams),
                    "queued": len(slot.queue),
                }
                for slot in client.all_slots()
            ],
            "books": {
                f"{key.market.value}:{key.symbol}": {
                    "synced": book.keeper.synced,
                    "last_update_id": book.keeper.last_update_id,
                    "resyncs": book.keeper.resyncs,
                }
                for key, book in client.desk.books.items()
            },
            "config_version": client.config_version,
        }

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        registry = client_of(request).metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
