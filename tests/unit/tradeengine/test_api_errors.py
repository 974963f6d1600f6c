"""Failures of the engine's dependencies as HTTP answers, and validation errors bounded."""

from __future__ import annotations

from typing import Any

import pytest

from petrosa.client import CircuitOpenError, ConnectError, DataManagerError, HTTPStatusError
from petrosa.client._exceptions import error_class_for
from petrosa.contracts.signals import refused_signal_id
from petrosa.coordination import LockNotAcquired, StoreUnavailable
from petrosa.exchange.binance import BinanceServerError, BinanceTransportError, InvalidSymbolError
from petrosa.tradeengine.api_errors import answer_for
from petrosa.tradeengine.failures import try_again
from petrosa.tradeengine.ledger import FenceLost
from petrosa.tradeengine.service import close_signal_id
from petrosa.tradeengine.validation import MAX_ITEMS, bounded_errors, describe


def dm_status(status: int, retry_after_s: float | None = None) -> HTTPStatusError:
    return error_class_for(status)(
        f"{status} from the data manager",
        status_code=status,
        method="GET",
        url="/x",
        detail=[{"loc": ["query", "symbol"], "msg": "bad", "type": "t"}],
        retry_after_s=retry_after_s,
    )


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (dm_status(422), 422),
        (dm_status(400), 422),
        (dm_status(404), 404),
        (dm_status(409), 409),
        (dm_status(401), 502),
        (dm_status(500), 502),
        (dm_status(503), 503),
        (dm_status(429), 503),
        (ConnectError("refused"), 503),
        (CircuitOpenError("open", retry_after_s=7.2), 503),
        (DataManagerError("undecodable"), 502),
        (StoreUnavailable("down"), 503),
        (LockNotAcquired("busy"), 503),
        (FenceLost("newer token"), 503),
        (BinanceTransportError("timeout", sent=True), 503),
        (BinanceServerError("boom", status=502), 503),
        (InvalidSymbolError("no", status=400, code=-1121), 404),
    ],
)
def test_each_failure_has_the_status_that_says_whose_fault_it_is(
    error: Exception, status: int
) -> None:
    answer = answer_for(error)
    assert answer.status == status
    assert ("Retry-After" in answer.headers) is (status == 503)


def test_retry_after_is_the_dependencys_own_when_it_gave_one() -> None:
    assert answer_for(CircuitOpenError("open", retry_after_s=7.2)).headers["Retry-After"] == "8"
    assert answer_for(dm_status(503, retry_after_s=3)).headers["Retry-After"] == "3"


def test_only_outages_stop_every_symbol() -> None:
    shared = [ConnectError("x"), StoreUnavailable("x"), BinanceTransportError("x", sent=False)]
    assert all(hint is not None and hint.shared for hint in map(try_again, shared))
    one_symbol = [LockNotAcquired("x"), FenceLost("x")]
    assert all(hint is not None and not hint.shared for hint in map(try_again, one_symbol))
    assert try_again(InvalidSymbolError("x", status=400, code=-1121)) is None
    assert try_again(RuntimeError("bug")) is None


def test_validation_items_never_echo_large_or_non_finite_input() -> None:
    errors: list[dict[str, Any]] = [
        {"type": "t", "loc": ("body", "k" * 10_000), "msg": "m" * 10_000, "input": "x" * 10_000},
        {"type": "finite_number", "loc": ("body", "price"), "msg": "finite", "input": float("nan")},
        {"type": "t", "loc": ("query", "limit"), "msg": "too big", "input": 5_000},
    ]
    first, nan, small = bounded_errors(errors)
    assert "input" not in first
    assert "input" not in nan
    assert len(first["loc"][1]) <= 200
    assert len(first["msg"]) <= 200
    assert small == {"type": "t", "loc": ["query", "limit"], "msg": "too big", "input": 5_000}
    assert describe(errors[2]) == "query.limit: too big"


def test_validation_items_are_capped_in_number() -> None:
    many = [{"type": "t", "loc": ("body", f"f{i}"), "msg": "m"} for i in range(500)]
    bounded = bounded_errors(many)
    assert len(bounded) == MAX_ITEMS + 1
    assert bounded[-1]["msg"] == f"{500 - MAX_ITEMS} more errors not shown"


def test_refused_payloads_keep_a_valid_id_and_get_a_stable_digest_otherwise() -> None:
    assert refused_signal_id(b'{"signal_id": "s-1", "price": "x"}') == "s-1"
    for payload in (b'{"signal_id": "' + b"x" * 500 + b'"}', b"\xff", b"[" * 100_000):
        refused = refused_signal_id(payload)
        assert refused.startswith("invalid-")
        assert len(refused) <= 128
        assert refused == refused_signal_id(payload)


def test_a_close_signal_id_is_always_a_valid_signal_id() -> None:
    assert close_signal_id("req-1") == "api-close:req-1"
    long = close_signal_id("r" * 128)
    assert long.startswith("api-close:")
    assert len(long) <= 128
    assert long == close_signal_id("r" * 128)
