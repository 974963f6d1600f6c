"""Trading-state wire models: positions, daily P&L, configuration.

Money is ``Decimal`` and travels as a string, so no amount is ever rounded through a float.
Every amount fits the storage column exactly: at most ``MONEY_SCALE`` decimal places and a
magnitude below ``10 ** MONEY_INTEGER_DIGITS``.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)

from petrosa.contracts.market import Symbol

MONEY_SCALE = 18
"""Decimal places an amount may carry (the columns are NUMERIC(38, 18))."""
MONEY_INTEGER_DIGITS = 20
"""Digits before the decimal point an amount may carry."""
MONEY_LIMIT = Decimal(10) ** MONEY_INTEGER_DIGITS
MAX_JSON_BYTES = 65_535
"""Largest configuration value or position metadata, as compact UTF-8 JSON."""

IDENTIFIER_PATTERN = r"^[A-Za-z0-9_.:\-]{1,128}$"
STRATEGY_ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,128}$"
"""Like an identifier but without ``:``, which separates the parts of a config audit scope."""
CONFIG_KEY_PATTERN = IDENTIFIER_PATTERN
MAX_FENCE = 2**63 - 1
"""Largest fencing token a position write may carry (the column is a signed BIGINT)."""


def check_money(value: Decimal) -> Decimal:
    """A finite amount that the storage holds exactly (scale and magnitude limits)."""
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if decimal_places(value) > MONEY_SCALE:
        raise ValueError(f"must have at most {MONEY_SCALE} decimal places")
    if value.copy_abs() >= MONEY_LIMIT:  # abs() would round to 28 digits
        raise ValueError(f"must be smaller than 10^{MONEY_INTEGER_DIGITS} in magnitude")
    return value


def decimal_places(value: Decimal) -> int:
    """Significant decimal places, ignoring trailing zeros (exact, no context rounding)."""
    _sign, digits, exponent = value.as_tuple()
    coefficient = "".join(map(str, digits)).rstrip("0")
    if not coefficient or not isinstance(exponent, int):
        return 0
    return max(0, -(exponent + len(digits) - len(coefficient)))


def _check_non_negative_money(value: Decimal) -> Decimal:
    check_money(value)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def check_json_value(value: Any) -> Any:
    """A JSON value without NaN or infinities, at most ``MAX_JSON_BYTES`` when encoded."""
    try:
        encoded = canonical_json(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"must be plain JSON with finite numbers ({error})") from None
    if len(encoded.encode()) > MAX_JSON_BYTES:
        raise ValueError(f"must encode to at most {MAX_JSON_BYTES} bytes of JSON")
    return value


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal values give equal text, on every engine."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


_as_text = PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="always")

Money = Annotated[Decimal, AfterValidator(check_money), _as_text]
"""A signed, finite decimal amount serialized as a string."""

Quantity = Annotated[Decimal, AfterValidator(_check_non_negative_money), _as_text]
"""A non-negative, finite decimal serialized as a string (quantities, prices, fees)."""

Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
StrategyId = Annotated[str, Field(pattern=STRATEGY_ID_PATTERN)]
ConfigKey = Annotated[str, Field(pattern=CONFIG_KEY_PATTERN)]
Author = Annotated[str, Field(min_length=1, max_length=128)]
JsonValue = Annotated[Any, AfterValidator(check_json_value)]
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json_value)]
Parameters = Annotated[dict[ConfigKey, Any], AfterValidator(check_json_value)]
"""Strategy parameters by name; each name is a config key, as the audit records it."""


class PositionSide(StrEnum):
    LONG = "long"
    SHORT = "short"


class PositionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class PositionIn(BaseModel):
    """What a writer sends to create or update a position (identified by position_id)."""

    model_config = ConfigDict(extra="forbid")

    strategy_id: StrategyId
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
    closed_at: AwareDatetime | None = Field(default=None, validate_default=True)
    metadata: JsonObject = Field(default_factory=dict)

    @field_validator("closed_at")
    @classmethod
    def _closed_at_matches_status(
        cls, value: dt.datetime | None, info: ValidationInfo
    ) -> dt.datetime | None:
        status = info.data.get("status")
        if status is PositionStatus.CLOSED and value is None:
            raise ValueError("closed_at is required when status is closed")
        if status is PositionStatus.OPEN and value is not None:
            raise ValueError("closed_at must be empty while the position is open")
        opened_at = info.data.get("opened_at")
        if value is not None and opened_at is not None and value < opened_at:
            raise ValueError("closed_at must not be before opened_at")
        return value


class Position(PositionIn):
    """A stored position."""

    position_id: Identifier
    updated_at: AwareDatetime


class PositionClose(BaseModel):
    """Closing details; closing an already closed position changes nothing.

    ``realized_pnl`` and ``fees`` replace the stored values when given; the unrealized P&L
    of a closed position is zero.
    """

    model_config = ConfigDict(extra="forbid")

    exit_price: Quantity
    closed_at: AwareDatetime
    realized_pnl: Money | None = None
    fees: Quantity | None = None


class PositionWriteResult(BaseModel):
    position: Position
    created: bool = False
    changed: bool
    """False when the stored position already held exactly this content: nothing written."""
    fence: int | None = None
    """The highest fencing token the position was written with (None: never a fenced write).

    Here rather than on ``Position``, whose readers refuse unknown fields: older clients
    ignore it in this result.
    """


class PositionList(BaseModel):
    positions: list[Position]
    """Newest first (by ``opened_at``, then ``position_id``)."""


class DailyPnl(BaseModel):
    """Realized P&L total for one UTC date.

    ``event_count`` counts the realized-P&L events recorded for the date; ``updated_at`` is
    None while nothing has been recorded or set.
    """

    date: dt.date
    total: Money
    event_count: int
    updated_at: AwareDatetime | None


class DailyPnlSet(BaseModel):
    """Replace a date's total; events recorded afterwards add to the new value."""

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
    """The date the event id is recorded under (for a repeat, the first recording's date)."""


class ConfigValueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: JsonValue
    changed_by: Author


class ConfigValue(BaseModel):
    key: str
    value: Any
    version: int
    """1 when first set; grows by one with every change (an unchanged set keeps it)."""
    updated_at: AwareDatetime
    updated_by: str


class StrategyConfigIn(BaseModel):
    """Parameters for a strategy, globally (symbol None) or as a per-symbol override.

    The parameters replace the ones stored for that scope; a parameter left out is removed.
    """

    model_config = ConfigDict(extra="forbid")

    symbol: Symbol | None = None
    parameters: Parameters
    changed_by: Author


class StrategyConfig(BaseModel):
    """Effective parameters: the global ones with the symbol's overrides applied."""

    strategy_id: str
    symbol: str | None
    parameters: dict[str, Any]
    global_parameters: dict[str, Any]
    symbol_parameters: dict[str, Any]
    version: int
    """Changes to the global parameters plus changes to the symbol's overrides."""
    updated_at: AwareDatetime | None


class ConfigAuditEntry(BaseModel):
    """Who changed which configuration value, when, from what to what.

    For strategies there is one entry per changed parameter (``key`` is its name);
    ``old_value`` is null for a new parameter, ``new_value`` null for a removed one.
    """

    id: int
    scope: str
    """``app``, ``strategy:<id>`` or ``strategy:<id>:<SYMBOL>``."""
    key: str
    old_value: Any
    new_value: Any
    version: int
    """The version of the scope this change produced."""
    changed_by: str
    changed_at: AwareDatetime


class ConfigAuditList(BaseModel):
    entries: list[ConfigAuditEntry]
    """Newest first."""
