"""Liveness, readiness and per-store health: truthful, and never a credential.

Failures are given as reason codes (:mod:`petrosa.datamanager.api.outages`); the driver's
message, which names hosts, users and databases, is only logged.
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Depends, Request

from petrosa.datamanager.api.deps import get_database
from petrosa.datamanager.api.outages import OutageLog, Reason
from petrosa.datamanager.api.responses import OrjsonResponse
from petrosa.datamanager.storage.database import Database, StoreUnavailable
from petrosa.datamanager.storage.migrate import missing_heads

log = logging.getLogger(__name__)
router = APIRouter(prefix="/health", tags=["health"])


@router.get("/liveness")
async def liveness() -> OrjsonResponse:
    """The process is up and serving; touches no database."""
    return OrjsonResponse({"status": "ok"})


@router.get("/readiness")
async def readiness(request: Request, db: Database = Depends(get_database)) -> OrjsonResponse:
    """200 only when the database answers a ping within the readiness timeout and its
    schema is at this version's revision, else 503 with the reason code."""
    latency_ms, reason = await _ping(request, db)
    if reason is None:
        reason = await _schema_reason(request, db)
    if reason is not None:
        return OrjsonResponse(
            {"status": "unavailable", "stores": {"primary": {"ready": False, "reason": reason}}},
            status_code=503,
            headers={"Retry-After": str(request.app.state.settings.retry_after_s)},
        )
    return OrjsonResponse(
        {"status": "ready", "stores": {"primary": {"ready": True, "ping_ms": latency_ms}}}
    )


@router.get("/databases")
async def databases(request: Request, db: Database = Depends(get_database)) -> OrjsonResponse:
    """Per store: connected, ping latency, pool size and use, the last error's reason code.
    No URLs, secrets or driver messages."""
    _latency_ms, reason = await _ping(request, db)
    outages: OutageLog = request.app.state.outages
    status = db.status
    error_age = None if status.last_error_at is None else time.time() - status.last_error_at
    body = {
        "primary": {
            "backend": db.dialect,
            "connected": reason is None,
            "ping_ms": status.last_ping_ms if reason is None else None,
            "pool": db.pool_status(),
            "last_error": outages.last,
            "last_error_age_s": None if error_age is None else round(error_age, 1),
            "errors_total": status.errors_total,
        }
    }
    return OrjsonResponse(body, status_code=200 if reason is None else 503)


async def _schema_reason(request: Request, db: Database) -> Reason | None:
    """``migration_pending`` while the schema lacks one of this version's revisions
    (``migrate_on_start`` off and ``petrosa data-manager migrate`` not run yet); once seen
    current, never checked again."""
    if request.app.state.schema_current:
        return None
    try:
        missing = await missing_heads(db)
    except StoreUnavailable as error:
        outages: OutageLog = request.app.state.outages
        return outages.note(error)
    if missing:
        log.warning("schema not migrated: revisions %s missing", ", ".join(sorted(missing)))
        return Reason.MIGRATION_PENDING
    request.app.state.schema_current = True
    return None


async def _ping(request: Request, db: Database) -> tuple[float | None, Reason | None]:
    """The ping's latency in ms, or why it failed (the failure is logged by the database)."""
    try:
        latency_ms = await db.ping(request.app.state.settings.readiness_timeout_s)
    except StoreUnavailable as error:
        outages: OutageLog = request.app.state.outages
        return None, outages.note(error)
    return round(latency_ms, 3), None
