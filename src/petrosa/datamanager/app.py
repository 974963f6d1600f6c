"""Wiring of the Data Manager HTTP service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from petrosa import __version__
from petrosa.datamanager.api import documents, health, market, trading
from petrosa.datamanager.api.errors import install_error_handlers
from petrosa.datamanager.api.metrics import Metrics, MetricsMiddleware, metrics_endpoint
from petrosa.datamanager.api.outages import OutageLog
from petrosa.datamanager.api.responses import OrjsonResponse
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.database import Database
from petrosa.datamanager.storage.migrate import upgrade_to_head
from petrosa.webauth import BodyLimits, RequestGate

log = logging.getLogger(__name__)


def create_app(settings: DataManagerSettings | None = None) -> FastAPI:
    settings = settings or DataManagerSettings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings)
        db.error_listeners.append(lambda _reason: metrics.db_errors.inc())
        if settings.migrate_on_start:
            await upgrade_to_head(db)
            app.state.schema_current = True
        app.state.db = db
        app.state.stores = {}
        log.info("data manager ready on %s", db.safe_url)
        try:
            yield
        finally:
            await db.dispose()

    app = FastAPI(
        title="petrosa Data Manager",
        version=__version__,
        description="The only petrosa service that talks to the databases.",
        default_response_class=OrjsonResponse,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.outages = OutageLog()
    app.state.schema_current = False  # until migrated at start or seen current by readiness
    install_error_handlers(app, retry_after_s=settings.retry_after_s)
    app.include_router(health.router)
    app.include_router(market.router)
    app.include_router(documents.router)
    app.include_router(trading.router)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.add_middleware(RequestGate, limits=body_limits(settings), tokens=settings.tokens)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: counts refusals too
    return app


BULK_PATHS = r"/data/(klines|trades|funding)|/collections/[^/]+/insert"
DOCUMENT_PATHS = r"/(collections|config|positions|pnl)/.+"


def body_limits(settings: DataManagerSettings) -> BodyLimits:
    """Bulk writes get the largest bodies, other document/state writes less, the rest little."""
    return BodyLimits(
        settings.max_body_bytes,
        {
            BULK_PATHS: settings.max_body_bytes_bulk,
            DOCUMENT_PATHS: settings.max_body_bytes_documents,
        },
    )
