"""A published realtime decision as the shared ``Signal`` (STRATEGIES.md 5).

``timeframe`` is ``tick``; the id's time is the triggering event's exchange time floored
to the strategy's cooldown (the funding time for ``funding_rate``), so a replica that takes
a symbol over, or a replay, names the same decision the same way. The version, market and
event time are the contract's own fields.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from petrosa.contracts import Market
from petrosa.contracts.signals import Signal, SignalAction, strategy_signal_id

TIMEFRAME = "tick"


@dataclass(frozen=True, slots=True)
class Emission:
    """A signal to publish, and the market state that triggered it (for the Data Manager)."""

    signal: Signal
    market_state: dict[str, Any]


def signal_time(time_ms: int, cooldown_ms: int, id_time_ms: int | None) -> int:
    """The ``t`` of the signal id."""
    if id_time_ms is not None:
        return id_time_ms
    return time_ms - time_ms % cooldown_ms if cooldown_ms > 0 else time_ms


def realtime_signal(
    *,
    strategy_id: str,
    version: str,
    params_hash: str,
    market: Market,
    symbol: str,
    action: str,
    time_ms: int,
    id_time_ms: int,
    price: float,
    stop_loss: float,
    take_profit: float,
    confidence: float,
    inputs: dict[str, Any],
) -> Signal:
    """The contract signal of one validated decision; strategies never size."""
    risk = abs(price - stop_loss)
    metadata: dict[str, Any] = {
        "signal_time": id_time_ms,
        "inputs": inputs,
        "risk": risk,
        "reward_risk": abs(take_profit - price) / risk,
        "params_hash": params_hash,
    }
    return Signal(
        signal_id=strategy_signal_id(
            strategy_id=strategy_id,
            strategy_version=version,
            market=market.value,
            symbol=symbol,
            timeframe=TIMEFRAME,
            t=id_time_ms,
            action=action,
        ),
        strategy_id=strategy_id,
        strategy_version=version,
        market=market,
        event_time=time_ms,
        symbol=symbol,
        action=SignalAction(action),
        confidence=confidence,
        price=_decimal(price),
        stop_loss=_decimal(stop_loss),
        take_profit=_decimal(take_profit),
        timestamp=dt.datetime.fromtimestamp(time_ms / 1000, dt.UTC),
        timeframe=TIMEFRAME,
        metadata=metadata,
    )


def _decimal(value: float) -> Decimal:
    """The float's shortest repr, so 101.3 stays "101.3" rather than its binary expansion."""
    return Decimal(repr(value))
