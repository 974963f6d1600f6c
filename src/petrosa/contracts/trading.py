"""Trading-state wire models: positions, daily P&L, configuration.

Money is ``Decimal`` and travels as a string, so no amount is ever rounded through a float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from petrosa.contracts.market import Symbol


def _check_finite_decimal(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


def _check_non_negative_decimal(value: Decimal) -> Decimal:
    _check_finite_decimal(value)
    if value < 0:
        raise ValueError("must not be negative")
    return value


_as_text = PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="always")

Money = Annotated[Decimal, AfterValidator(_check_finite_decimal), _as_text]
"""A signed, finite decimal amount serialized as a string."""

Quantity = Annotated[Decimal, AfterValidator(_check_non_negative_decimal), _as_text]
"""A non-negative, finite decimal serialized as a string (quantities, prices, fees)."""

Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class PositionSide(StrEnum):
    LONG = "long"
    SHORT = "short"


class PositionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class PositionIn(BaseModel):
    """What a writer sends to create or update a position (identified by position_id)."""

    model_config = ConfigDict(extra="forbid")

    strategy_id: Identifier
    symbol: Symbol
    side: PositionSide
    status: PositionStatus = PositionStatus.OPEN
    quantity: Quantity
    entry_price: Quantity
    exit_price: Quantity | None = None
    realized_pnl: Money = Decimal(0)
    unrealized_pnl: Money = Decimal(0)
    fees: Quantity = Decimal(0)
    opened_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _closed_needs_time(self) -> Self:
        if self.status is PositionStatus.CLOSED and self.closed_at is None:
            raise ValueError("closed_at is required when status is closed")
        return self


class Position(PositionIn):
    """A stored position."""

    position_id: Identifier
    updated_at: AwareDatetime


class PositionClose(BaseModel):
    """Closing details; closing an already closed position changes nothing."""

    model_config = ConfigDict(extra="forbid")

    exit_price: Quantity
    closed_at: AwareDatetime
    realized_pnl: Money | None = None
    fees: Quantity | None = None


class PositionWriteResult(BaseModel):
    position: Position
    created: bool = False
    changed: bool


class DailyPnl(BaseModel):
    """Realized P&L total for one UTC date."""

    date: dt.date
    total: Money
    event_count: int
    updated_at: AwareDatetime | None


class DailyPnlSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Money


class RealizedPnlIn(BaseModel):
    """A realized-P&L amount, recorded exactly once under its event id."""

    model_config = ConfigDict(extra="forbid")

    event_id: Identifier
    amount: Money
    occurred_at: AwareDatetime
    symbol: Symbol | None = None
    position_id: Identifier | None = None


class RealizedPnlResult(BaseModel):
    recorded: bool
    """False when the event id was already recorded: nothing was added."""
    daily: DailyPnl


class ConfigValueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Any
    changed_by: Annotated[str, Field(min_length=1, max_length=128)]


class ConfigValue(BaseModel):
    key: str
    value: Any
    version: int
    updated_at: AwareDatetime
    updated_by: str


class StrategyConfigIn(BaseModel):
    """Parameters for a strategy, globally (symbol None) or as a per-symbol override."""

    model_config = ConfigDict(extra="forbid")

    symbol: Symbol | None = None
    parameters: dict[str, Any]
    changed_by: Annotated[str, Field(min_length=1, max_length=128)]


class StrategyConfig(BaseModel):
    """Effective parameters: the global ones with the symbol's overrides applied."""

    strategy_id: str
    symbol: str | None
    parameters: dict[str, Any]
    global_parameters: dict[str, Any]
    symbol_parameters: dict[str, Any]
    version: int
    updated_at: AwareDatetime | None


class ConfigAuditEntry(BaseModel):
    """Who changed which configuration value, when, from what to what."""

    id: int
    scope: str
    key: str
    old_value: Any
    new_value: Any
    changed_by: str
    changed_at: AwareDatetime
