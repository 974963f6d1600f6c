"""How failures reach the engine API's callers: a status that says whose fault it is.

=========================================  =========================================
request validation (body, path, query)     422, items bounded (no large ``input`` echo)
a dependency down or busy                  503 with ``Retry-After`` (``failures``)
(Data Manager, exchange, coordination)
Data Manager 422 / 400                     422: the request's values were refused
Data Manager 404                           404
Data Manager 409                           409
exchange: symbol not listed (-1121)        404
anything else a dependency answered        502: the engine's dependency failed (logged
(auth refused, 500, undecodable answer)    with its traceback); the detail is generic
=========================================  =========================================
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from petrosa.client import (
    BadRequestError,
    ConflictError,
    DataManagerError,
    HTTPStatusError,
    NotFoundError,
    ValidationError,
)
from petrosa.coordination import CoordinationError
from petrosa.exchange.binance import BinanceError, InvalidSymbolError
from petrosa.tradeengine.failures import try_again
from petrosa.tradeengine.ledger import FenceLost
from petrosa.tradeengine.validation import bounded_errors, clip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int
    detail: Any
    headers: dict[str, str] = field(default_factory=dict)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    for failure in (DataManagerError, BinanceError, CoordinationError, FenceLost):
        app.add_exception_handler(failure, _dependency_failed)


def answer_for(error: Exception) -> Answer:
    """The HTTP answer to a failure of one of the engine's dependencies."""
    hint = try_again(error)
    if hint is not None:
        return Answer(503, f"try again: {hint.cause}", {"Retry-After": hint.retry_after_header})
    if isinstance(error, ValidationError | BadRequestError):
        items = error.detail if isinstance(error.detail, list) else []
        refused = bounded_errors(item for item in items if isinstance(item, dict))
        return Answer(422, refused or _told("the data manager refused the request", error))
    if isinstance(error, NotFoundError):
        return Answer(404, _told("not found in the data manager", error))
    if isinstance(error, ConflictError):
        return Answer(409, _told("conflicts with the data manager's state", error))
    if isinstance(error, InvalidSymbolError):
        return Answer(404, "the exchange does not list this symbol")
    return Answer(502, f"the engine's {_dependency(error)} failed; see the engine's log")


def _told(what: str, error: HTTPStatusError) -> str:
    """``what``, with the Data Manager's own ``detail`` when it gave a text one (never the
    request it was sent, which the error's message names)."""
    if isinstance(error.detail, str) and error.detail:
        return clip(f"{what}: {error.detail}")
    return what


async def _dependency_failed(_request: Request, error: Exception) -> JSONResponse:
    answer = answer_for(error)
    if answer.status == 502:
        log.error("request failed in the %s", _dependency(error), exc_info=error)
    return JSONResponse({"detail": answer.detail}, answer.status, headers=answer.headers)


async def _invalid_request(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": bounded_errors(error.errors())}, 422)


def _dependency(error: Exception) -> str:
    if isinstance(error, DataManagerError):
        return "data manager"
    if isinstance(error, BinanceError):
        return "exchange"
    return "coordination store"
