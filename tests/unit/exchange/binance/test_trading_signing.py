"""Signing (Binance's documented vector), parameter text, and the trading error branch."""

from __future__ import annotations

from decimal import Decimal

import pytest

from petrosa.exchange import trading
from petrosa.exchange.binance import (
    AlgoOrderRequiredError,
    BinanceAPIError,
    BinanceRequestError,
    DuplicateClientOrderIdError,
    InsufficientMarginError,
    InvalidApiKeyError,
    InvalidSignatureError,
    InvalidSymbolError,
    MinNotionalError,
    OrderRejectedError,
    PrecisionError,
    RateLimitedError,
    ReduceOnlyRejectedError,
    TimestampOutsideRecvWindowError,
    UnknownOrderError,
    WouldImmediatelyTriggerError,
    hmac_signature,
    signed_query,
)
from petrosa.exchange.binance._signing import Param, encode_query, param_text
from petrosa.exchange.binance._trading_errors import trading_error

SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
PARAMS: list[tuple[str, Param]] = [
    ("symbol", "BTCUSDT"),
    ("side", "BUY"),
    ("type", "LIMIT"),
    ("quantity", 1),
    ("price", 9000),
    ("timeInForce", "GTC"),
]
SIGNATURE = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
"""Binance's worked example (USD-M futures, "SIGNED Endpoint Examples")."""


def test_the_documented_example_signs_to_the_documented_signature() -> None:
    query = signed_query(PARAMS, secret=SECRET, timestamp_ms=1591702613943, recv_window_ms=5000)
    assert query == (
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
        f"&recvWindow=5000&timestamp=1591702613943&signature={SIGNATURE}"
    )
    assert hmac_signature(SECRET, query.rsplit("&signature=", 1)[0]) == SIGNATURE


def test_parameters_are_written_as_binance_reads_them() -> None:
    assert param_text(Decimal("1E-7")) == "0.0000001"
    assert param_text(Decimal("60000.10")) == "60000.10"
    assert (param_text(True), param_text(False)) == ("true", "false")
    assert encode_query([("a", None), ("id", "x:y/z"), ("n", 3)]) == "id=x%3Ay%2Fz&n=3"
    no_window = signed_query([], secret="s", timestamp_ms=5, recv_window_ms=None)
    assert no_window.startswith("timestamp=5&signature=")


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, -2015, InvalidApiKeyError),
        (401, -2014, InvalidApiKeyError),
        (400, -1022, InvalidSignatureError),
        (400, -1021, TimestampOutsideRecvWindowError),
        (400, -4116, DuplicateClientOrderIdError),
        (400, -2013, UnknownOrderError),
        (400, -2011, UnknownOrderError),
        (400, -2019, InsufficientMarginError),
        (400, -2022, ReduceOnlyRejectedError),
        (400, -2021, WouldImmediatelyTriggerError),
        (400, -4164, MinNotionalError),
        (400, -1111, PrecisionError),
        (400, -4120, AlgoOrderRequiredError),
        (400, -2010, OrderRejectedError),
        (400, -4061, OrderRejectedError),
        (400, -1121, InvalidSymbolError),
        (400, -1102, BinanceRequestError),
    ],
)
def test_error_codes_map_to_the_trading_branch(
    status: int, code: int, expected: type[BinanceAPIError]
) -> None:
    base = InvalidSymbolError if code == -1121 else BinanceRequestError
    error = trading_error(base("x", status=status, code=code, msg="m"), "message")
    assert type(error) is expected
    assert (error.status, error.code, error.msg, error.message) == (status, code, "m", "message")


def test_rejections_are_the_ports_errors_too() -> None:
    assert issubclass(OrderRejectedError, trading.OrderRejected)
    assert issubclass(InsufficientMarginError, trading.InsufficientMargin)
    assert issubclass(UnknownOrderError, trading.UnknownOrder)
    assert issubclass(InsufficientMarginError, BinanceRequestError)


def test_errors_outside_the_branch_keep_their_class() -> None:
    limited = RateLimitedError("x", status=429, code=-1003, retry_after_s=3.0)
    mapped = trading_error(limited, "message")
    assert type(mapped) is RateLimitedError
    assert mapped.retry_after_s == 3.0
