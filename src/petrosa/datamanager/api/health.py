"""Liveness, readiness and per-store health: truthful, and never a credential."""

from __future__ import annotations

import time
from contextlib import suppress

from fastapi import APIRouter, Depends, Request

from petrosa.datamanager.api.deps import get_database
from petrosa.datamanager.api.responses import OrjsonResponse
from petrosa.datamanager.storage.database import Database, StoreUnavailable

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/liveness")
async def liveness() -> OrjsonResponse:
    """The process is up and serving; touches no database."""
    return OrjsonResponse({"status": "ok"})


@router.get("/readiness")
async def readiness(request: Request, db: Database = Depends(get_database)) -> OrjsonResponse:
    """200 only when the database answers a ping within the readiness timeout, else 503."""
    timeout_s = request.app.state.settings.readiness_timeout_s
    try:
        latency_ms = await db.ping(timeout_s)
    except StoreUnavailable as error:
        return OrjsonResponse(
            {
                "status": "unavailable",
                "stores": {"primary": {"ready": False, "reason": str(error)}},
            },
            status_code=503,
            headers={"Retry-After": str(request.app.state.settings.retry_after_s)},
        )
    return OrjsonResponse(
        {"status": "ready", "stores": {"primary": {"ready": True, "ping_ms": round(latency_ms, 3)}}}
    )


@router.get("/databases")
async def databases(request: Request, db: Database = Depends(get_database)) -> OrjsonResponse:
    """Per store: connected, ping latency, pool size and use, last error. No URLs or secrets."""
    timeout_s = request.app.state.settings.readiness_timeout_s
    with suppress(StoreUnavailable):  # the failure is recorded in db.status, reported below
        await db.ping(timeout_s)
    status = db.status
    error_age = None if status.last_error_at is None else time.time() - status.last_error_at
    body = {
        "primary": {
            "backend": db.dialect,
            "connected": status.connected,
            "ping_ms": status.last_ping_ms if status.connected else None,
            "pool": db.pool_status(),
            "last_error": status.last_error,
            "last_error_age_s": None if error_age is None else round(error_age, 1),
            "errors_total": status.errors_total,
        }
    }
    return OrjsonResponse(body, status_code=200 if status.connected else 503)
