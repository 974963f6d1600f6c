"""Reason codes: what the engine's readiness, reports and error bodies say about a failing
dependency. The failure's own text can carry a driver's or transport's detail (hosts, URLs,
users); it goes to the log, never into an answer."""

from __future__ import annotations

from enum import StrEnum

from petrosa.client import DataManagerError
from petrosa.coordination import CoordinationError
from petrosa.exchange.binance import BinanceError
from petrosa.exchange.trading import SymbolNotListed
from petrosa.tradeengine.failures import try_again
from petrosa.tradeengine.validation import clip


class Reason(StrEnum):
    STARTING = "starting"
    """The Data Manager self-test has not run yet."""
    SELFTEST_FAILED = "selftest_failed"
    """The Data Manager answered, but the self-test (write, read back, delete) failed."""
    DATA_MANAGER_UNAVAILABLE = "data_manager_unavailable"
    DATA_MANAGER_NOT_READY = "data_manager_not_ready"
    DATA_MANAGER_ERROR = "data_manager_error"
    COORDINATION_UNAVAILABLE = "coordination_unavailable"
    COORDINATION_ERROR = "coordination_error"
    EXCHANGE_UNAVAILABLE = "exchange_unavailable"
    EXCHANGE_ERROR = "exchange_error"
    SYMBOL_NOT_LISTED = "symbol_not_listed"
    BUSY = "busy"
    """Another replica (or task) holds the symbol or the signal for now."""
    NATS_DISCONNECTED = "nats_disconnected"


def reason_for(error: BaseException) -> Reason | None:
    """The code for a dependency's failure; None when ``error`` is not one."""
    if isinstance(error, SymbolNotListed):
        return Reason.SYMBOL_NOT_LISTED
    hint = try_again(error)
    if hint is not None and not hint.shared:
        return Reason.BUSY
    if isinstance(error, DataManagerError):
        return Reason.DATA_MANAGER_UNAVAILABLE if hint else Reason.DATA_MANAGER_ERROR
    if isinstance(error, CoordinationError):
        return Reason.COORDINATION_UNAVAILABLE if hint else Reason.COORDINATION_ERROR
    if isinstance(error, BinanceError):
        return Reason.EXCHANGE_UNAVAILABLE if hint else Reason.EXCHANGE_ERROR
    return None


def safe_description(error: BaseException) -> str:
    """A dependency's failure as its reason code; anything else (a bug: the engine's own
    text) as ``Type: message``, clipped."""
    reason = reason_for(error)
    return reason.value if reason is not None else clip(f"{type(error).__name__}: {error}")
