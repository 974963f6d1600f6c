"""Binance's error answers: ``{"code": -1121, "msg": "Invalid symbol."}`` with an HTTP status.

Codes and messages as Binance documents them. Request errors are HTTP 400; rate limiting is
429 (and 418 for a ban), both with code -1003.
"""

from __future__ import annotations

from enum import IntEnum

from fastapi import FastAPI, Request
from starlette.responses import Response

from petrosa.exchange.simulator.responses import JsonResponse

BAD_REQUEST = 400
INTEGER_RANGE = "^[0-9]{1,20}$"
SYMBOL_RANGE = "^[A-Z0-9-_.]{1,20}$"


class ErrorCode(IntEnum):
    """Binance error codes the simulator answers with."""

    TOO_MANY_REQUESTS = -1003
    START_AFTER_END = -1023
    ILLEGAL_CHARS = -1100
    TOO_MANY_PARAMETERS = -1101
    MANDATORY_PARAM_EMPTY_OR_MALFORMED = -1102
    UNREAD_PARAMETERS = -1104
    PARAM_EMPTY = -1105
    BAD_INTERVAL = -1120
    BAD_SYMBOL = -1121
    MORE_THAN_XX_HOURS = -1127
    INVALID_PARAMETER = -1130
    INVALID_TIMESTAMP = -1021
    INVALID_SIGNATURE = -1022
    PARAM_NOT_REQUIRED = -1106
    BAD_PRECISION = -1111
    INVALID_ORDER_TYPE = -1116
    INVALID_SIDE = -1117
    INVALID_NEW_ORDER_RESP_TYPE = -1136
    CANCEL_REJECTED = -2011
    NO_SUCH_ORDER = -2013
    BAD_API_KEY_FMT = -2014
    REJECTED_MBX_KEY = -2015
    MARGIN_NOT_SUFFICIENT = -2019
    ORDER_WOULD_IMMEDIATELY_TRIGGER = -2021
    REDUCE_ONLY_REJECT = -2022
    QTY_LESS_THAN_ZERO = -4003
    QTY_GREATER_THAN_MAX_QTY = -4005
    INVALID_CL_ORD_ID_LEN = -4015
    STOP_ORDER_SWITCH_ALGO = -4120
    INVALID_LEVERAGE = -4028
    STOP_PRICE_LESS_THAN_ZERO = -4006
    INVALID_WORKING_TYPE = -4031
    POSITION_SIDE_NOT_MATCH = -4061
    DUPLICATED_CLIENT_ORDER_ID = -4116
    QUANTITY_EXISTS_WITH_CLOSE_POSITION = -4137
    MIN_NOTIONAL = -4164


class BinanceError(Exception):
    """An error answer: Binance ``code`` and ``msg``, sent with HTTP ``status``."""

    def __init__(self, code: ErrorCode, msg: str, *, status: int = BAD_REQUEST) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status

    def response(self, headers: dict[str, str] | None = None) -> Response:
        """The JSON answer Binance gives for this error."""
        return error_response(self.code, self.msg, status=self.status, headers=headers)


def error_response(
    code: int, msg: str, *, status: int, headers: dict[str, str] | None = None
) -> Response:
    """``{"code": code, "msg": msg}`` with HTTP ``status``."""
    return JsonResponse({"code": code, "msg": msg}, status_code=status, headers=headers)


def illegal_chars(name: str, legal: str) -> BinanceError:
    return BinanceError(
        ErrorCode.ILLEGAL_CHARS,
        f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.",
    )


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


def empty(name: str) -> BinanceError:
    return BinanceError(ErrorCode.PARAM_EMPTY, f"Parameter '{name}' was empty.")


def duplicate() -> BinanceError:
    return BinanceError(ErrorCode.TOO_MANY_PARAMETERS, "Duplicate values for a parameter detected.")


def unread(read: int, sent: int) -> BinanceError:
    return BinanceError(
        ErrorCode.UNREAD_PARAMETERS,
        f"Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'.",
    )


def invalid_symbol() -> BinanceError:
    return BinanceError(ErrorCode.BAD_SYMBOL, "Invalid symbol.")


def invalid_interval() -> BinanceError:
    return BinanceError(ErrorCode.BAD_INTERVAL, "Invalid interval.")


def invalid_parameter(name: str) -> BinanceError:
    return BinanceError(
        ErrorCode.INVALID_PARAMETER, f"Data sent for parameter '{name}' is not valid."
    )


def lookup_too_long(hours: int) -> BinanceError:
    return BinanceError(
        ErrorCode.MORE_THAN_XX_HOURS, f"More than {hours} hours between startTime and endTime."
    )


def start_after_end() -> BinanceError:
    return BinanceError(ErrorCode.START_AFTER_END, "Start time is greater than end time.")


async def _handle(request: Request, error: Exception) -> Response:
    assert isinstance(error, BinanceError)
    return error.response()


def install_error_handler(app: FastAPI) -> None:
    """Answer every ``BinanceError`` raised by a route the way Binance does."""
    app.add_exception_handler(BinanceError, _handle)
