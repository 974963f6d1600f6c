"""Trading signals (emitted by the TA bot and realtime strategies) and engine decisions."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from petrosa.contracts.market import Symbol
from petrosa.contracts.trading import Identifier, Quantity

SIGNAL_NAMESPACE = uuid.UUID("5b0c7a2e-8f1d-4c1e-9a57-3f1b8f6d2c10")
"""Namespace of derived signal ids (uuid5): the same inputs give the same id everywhere."""


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be positive")
    return value


def _percent(value: Decimal) -> Decimal:
    if not 0 < value <= 100:
        raise ValueError("must be a percentage in (0, 100]")
    return value


PositiveDecimal = Annotated[Quantity, AfterValidator(_positive)]
Percent = Annotated[Quantity, AfterValidator(_percent)]


class SignalAction(StrEnum):
    BUY = "buy"
    SELL = "sell"
    CLOSE = "close"
    HOLD = "hold"


def derive_signal_id(
    strategy_id: str, symbol: str, timeframe: str | None, event_time: dt.datetime
) -> str:
    """The id a strategy's signal gets when it brings none: stable across replicas/retries."""
    millis = int(event_time.timestamp() * 1000)
    return str(uuid.uuid5(SIGNAL_NAMESPACE, f"{strategy_id}|{symbol}|{timeframe or ''}|{millis}"))


class Signal(BaseModel):
    """A request to trade. Numbers must be finite and not negative."""

    model_config = ConfigDict(extra="forbid")

    signal_id: Identifier | None = None
    strategy_id: Identifier
    symbol: Symbol
    action: SignalAction
    confidence: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
    price: PositiveDecimal
    timestamp: AwareDatetime
    quantity: PositiveDecimal | None = None
    position_size_pct: Percent | None = None
    stop_loss: PositiveDecimal | None = None
    stop_loss_pct: Percent | None = None
    take_profit: PositiveDecimal | None = None
    take_profit_pct: Percent | None = None
    timeframe: Annotated[str, Field(max_length=8)] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _identify(self) -> Self:
        if self.signal_id is None:
            self.signal_id = derive_signal_id(
                self.strategy_id, self.symbol, self.timeframe, self.timestamp
            )
        if self.stop_loss is not None and self.stop_loss_pct is not None:
            raise ValueError("give stop_loss or stop_loss_pct, not both")
        if self.take_profit is not None and self.take_profit_pct is not None:
            raise ValueError("give take_profit or take_profit_pct, not both")
        return self

    @property
    def id(self) -> str:
        assert self.signal_id is not None  # set by the validator
        return self.signal_id


class DecisionStatus(StrEnum):
    EXECUTED = "executed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    FAILED = "failed"


class SignalDecision(BaseModel):
    """What the engine did with a signal, and why."""

    signal_id: str
    status: DecisionStatus
    reason: str
    symbol: str | None = None
    strategy_id: str | None = None
    action: str | None = None
    client_order_id: str | None = None
    order_id: int | None = None
    decided_at: AwareDatetime
    replica: str | None = None
