"""HTTP: health, status and metrics of one realtime replica (signals go over NATS).

``/health/liveness``: 503 when a task that must run forever ended. ``/health/readiness``:
503 with the reasons while NATS is down, the coordination store is unreachable, or an owned
symbol's input is stale, crossed or missing. ``/status``: owned symbols with their fencing
tokens and strategy states, the parameter version. ``/ownership``: this replica's lease
history. ``/metrics``: Prometheus.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from petrosa import __version__
from petrosa.coordination import CoordinationSettings, Locks
from petrosa.realtime.service.service import RealtimeService
from petrosa.realtime.service.settings import RealtimeSettings


@asynccontextmanager
async def running_service(
    settings: RealtimeSettings, coordination: CoordinationSettings | None = None
) -> AsyncIterator[RealtimeService]:
    """The service with its lease store and (with DATA_MANAGER_URL) its Data Manager client."""
    from petrosa.client import DataManagerClient

    async with AsyncExitStack() as stack:
        locks = await stack.enter_async_context(Locks.from_settings(coordination))
        dm = None
        if settings.data_manager_url is not None:
            dm = await stack.enter_async_context(DataManagerClient(settings.data_manager_url))
        service = RealtimeService(settings, locks, dm=dm)
        await service.start()
        try:
            yield service
        finally:
            await service.stop()


def create_app(
    settings: RealtimeSettings, coordination: CoordinationSettings | None = None
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_service(settings, coordination) as service:
            app.state.service = service
            yield

    app = FastAPI(title="petrosa realtime strategies", version=__version__, lifespan=lifespan)
    add_routes(app)
    return app


def add_routes(app: FastAPI) -> None:
    def service_of(request: Request) -> RealtimeService:
        service: RealtimeService = request.app.state.service
        return service

    @app.get("/health/liveness", tags=["health"])
    async def liveness(request: Request) -> JSONResponse:
        problems = service_of(request).liveness_problems()
        body = {"status": "unavailable" if problems else "ok", "problems": problems}
        return JSONResponse(body, status_code=503 if problems else 200)

    @app.get("/health/readiness", tags=["health"])
    async def readiness(request: Request) -> JSONResponse:
        problems = service_of(request).readiness_problems()
        body = {"status": "unavailable" if problems else "ready", "problems": problems}
        return JSONResponse(body, status_code=503 if problems else 200)

    @app.get("/status", tags=["status"])
    async def status(request: Request) -> dict[str, Any]:
        return service_of(request).status()

    @app.get("/ownership", tags=["status"])
    async def ownership(request: Request) -> list[dict[str, Any]]:
        return list(service_of(request).ownership.history)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        registry = service_of(request).metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
