"""Exception handlers: every failure leaves as a clear status and body, never a stack trace.

Bodies carry where and why (a field's loc, a reason code), never driver text: that names
users, hosts and schemas, so it goes to the log instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc

from petrosa.datamanager.api.responses import OrjsonResponse
from petrosa.datamanager.data_errors import data_error_code
from petrosa.datamanager.errors import BadValue, DataManagerError, InvalidInput
from petrosa.datamanager.storage.database import StoreUnavailable

log = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "database_unavailable"
DATABASE_ERROR = "database_error"
MAX_LOC_PART_CHARS = 64
"""A loc part (a field name) longer than this is cut: a 422 must not echo large input."""


def install_error_handlers(app: FastAPI, *, retry_after_s: int) -> None:
    @app.exception_handler(StoreUnavailable)
    async def _store_unavailable(request: Request, error: StoreUnavailable) -> OrjsonResponse:
        if (code := data_error_code(error.__cause__)) is not None:
            return _bad_value(request, BadValue(code), error)
        reason = request.app.state.outages.note(error)  # the driver's words are only logged
        return OrjsonResponse(
            {"detail": "database unavailable", "code": DATABASE_UNAVAILABLE, "reason": reason},
            status_code=503,
            headers={"Retry-After": str(retry_after_s)},
        )

    @app.exception_handler(exc.DBAPIError)
    async def _database_error(request: Request, error: exc.DBAPIError) -> OrjsonResponse:
        if (code := data_error_code(error)) is not None:
            return _bad_value(request, BadValue(code), error)
        log.error(
            "database error on %s %s: %s",
            request.method,
            request.url.path,
            _one_line(error.orig),
        )
        return OrjsonResponse(
            {"detail": "the database failed to run the request", "code": DATABASE_ERROR},
            status_code=500,
        )

    @app.exception_handler(RequestValidationError)
    async def _unprocessable(_request: Request, error: RequestValidationError) -> OrjsonResponse:
        # Only where and why: echoing the input back could leak it, and NaN is not JSON.
        detail = [
            {"loc": safe_loc(item["loc"]), "msg": item["msg"], "type": item["type"]}
            for item in error.errors()
        ]
        return OrjsonResponse({"detail": detail}, status_code=422)

    @app.exception_handler(InvalidInput)
    async def _invalid(_request: Request, error: InvalidInput) -> OrjsonResponse:
        return _invalid_response(error)

    @app.exception_handler(DataManagerError)
    async def _domain(_request: Request, error: DataManagerError) -> OrjsonResponse:
        return OrjsonResponse(
            {"detail": str(error), **error.body_fields()}, status_code=error.status_code
        )


def _invalid_response(error: InvalidInput) -> OrjsonResponse:
    item = {"loc": safe_loc(error.loc), "msg": error.message, "type": "value_error"}
    return OrjsonResponse({"detail": [item], **error.body_fields()}, status_code=422)


def _bad_value(request: Request, bad: BadValue, cause: BaseException) -> OrjsonResponse:
    log.warning(
        "the database refused a value (%s) on %s %s: %s",
        bad.code,
        request.method,
        request.url.path,
        _one_line(getattr(cause, "orig", None) or cause.__cause__ or cause),
    )
    return _invalid_response(bad)


def safe_loc(loc: Sequence[Any]) -> list[str | int]:
    """A loc that encodes as JSON and stays short: lone surrogates escaped, long parts cut."""
    safe: list[str | int] = []
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            safe.append(part)
            continue
        text = str(part).encode("utf-8", "backslashreplace").decode("utf-8")
        if len(text) > MAX_LOC_PART_CHARS:
            text = text[:MAX_LOC_PART_CHARS] + "…"
        safe.append(text)
    return safe


def _one_line(error: BaseException | None) -> str:
    if error is None:
        return "unknown"
    first = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first}"[:300]
