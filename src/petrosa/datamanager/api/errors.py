"""Exception handlers: every failure leaves as a clear status and body, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from petrosa.datamanager.api.responses import OrjsonResponse
from petrosa.datamanager.errors import DataManagerError, InvalidInput
from petrosa.datamanager.storage.database import StoreUnavailable

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI, *, retry_after_s: int) -> None:
    @app.exception_handler(StoreUnavailable)
    async def _store_unavailable(request: Request, error: StoreUnavailable) -> OrjsonResponse:
        reason = request.app.state.outages.note(error)  # the driver's words are only logged
        return OrjsonResponse(
            {"detail": "database unavailable", "reason": reason},
            status_code=503,
            headers={"Retry-After": str(retry_after_s)},
        )

    @app.exception_handler(RequestValidationError)
    async def _unprocessable(_request: Request, error: RequestValidationError) -> OrjsonResponse:
        # Only where and why: echoing the input back could leak it, and NaN is not JSON.
        detail = [
            {"loc": list(item["loc"]), "msg": item["msg"], "type": item["type"]}
            for item in error.errors()
        ]
        return OrjsonResponse({"detail": detail}, status_code=422)

    @app.exception_handler(InvalidInput)
    async def _invalid(_request: Request, error: InvalidInput) -> OrjsonResponse:
        return OrjsonResponse(
            {"detail": [{"loc": error.loc, "msg": error.message, "type": "value_error"}]},
            status_code=422,
        )

    @app.exception_handler(DataManagerError)
    async def _domain(_request: Request, error: DataManagerError) -> OrjsonResponse:
        return OrjsonResponse(
            {"detail": str(error), **error.body_fields()}, status_code=error.status_code
        )
