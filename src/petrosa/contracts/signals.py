"""Trading signals (emitted by the TA bot and realtime strategies), engine decisions, and
the positions as the engine reports them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
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

from petrosa.contracts.market import Market, Symbol
from petrosa.contracts.trading import IDENTIFIER_PATTERN, Identifier, Position, Quantity

SIGNAL_NAMESPACE = uuid.UUID("5b0c7a2e-8f1d-4c1e-9a57-3f1b8f6d2c10")
"""Namespace of derived signal ids (uuid5): the same inputs give the same id everywhere."""
REFUSED_ID_PREFIX = "invalid-"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be positive")
    return value


def _percent(value: Decimal) -> Decimal:
    if not 0 < value <= 100:
        raise ValueError("must be a percentage in (0, 100]")
    return value


PositiveDecimal = Annotated[Quantity, AfterValidator(_positive)]
EpochMs = Annotated[int, Field(ge=0, le=2**53)]
"""Epoch milliseconds (exact in a JSON number)."""
Percent = Annotated[Quantity, AfterValidator(_percent)]


class SignalAction(StrEnum):
    """What a signal asks for. Only buy, sell and close trade (``TRADING_ACTIONS``): the
    engine rejects a ``hold`` or an ``alert`` that reaches ``signals.trading``; alerts travel
    on ``alerts.ta.<SYMBOL>`` (STRATEGIES.md 5)."""

    BUY = "buy"
    SELL = "sell"
    CLOSE = "close"
    HOLD = "hold"
    ALERT = "alert"


TRADING_ACTIONS = frozenset({SignalAction.BUY, SignalAction.SELL, SignalAction.CLOSE})


def derive_signal_id(
    strategy_id: str, symbol: str, timeframe: str | None, event_time: dt.datetime
) -> str:
    """The id a strategy's signal gets when it brings none: stable across replicas/retries."""
    millis = int(event_time.timestamp() * 1000)
    return str(uuid.uuid5(SIGNAL_NAMESPACE, f"{strategy_id}|{symbol}|{timeframe or ''}|{millis}"))


PARAMS_HASH_LENGTH = 8


def strategy_signal_id(
    *,
    strategy_id: str,
    strategy_version: str,
    market: str,
    symbol: str,
    timeframe: str,
    t: int,
    action: str,
) -> str:
    """uuid5 of "strategy_id|strategy_version|market|symbol|timeframe|t|action" (STRATEGIES.md
    5): t is the candle open time for candle strategies, the event time floored to the
    cooldown length (or the funding time) for realtime ones. The TA bot and the realtime
    service share it so their ids are built one way."""
    key = "|".join((strategy_id, strategy_version, market, symbol, timeframe, str(t), action))
    return str(uuid.uuid5(SIGNAL_NAMESPACE, key))


def params_hash(params: BaseModel) -> str:
    """First 8 hex digits of the SHA-256 of a parameter model as canonical JSON."""
    canonical = json.dumps(params.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:PARAMS_HASH_LENGTH]


def version_label(version: int, params: BaseModel, defaults: BaseModel) -> str:
    """``"<version>"`` with the defaults; ``"<version>+<params hash>"`` when a deployment
    overrides parameters."""
    return str(version) if params == defaults else f"{version}+{params_hash(params)}"


def is_identifier(text: str) -> bool:
    """Whether ``text`` is a valid identifier (signal ids, position ids, event ids)."""
    return _IDENTIFIER.fullmatch(text) is not None


def refused_signal_id(payload: bytes) -> str:
    """The id under which a payload that is not a valid signal is recorded: its
    ``signal_id`` when that is a valid identifier, else ``invalid-`` and a digest of the
    payload (the same payload always gets the same id, so a redelivery records nothing new).
    """
    try:
        raw = json.loads(payload)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
        raw = None
    given = raw.get("signal_id") if isinstance(raw, dict) else None
    if isinstance(given, str) and is_identifier(given):
        return given
    return REFUSED_ID_PREFIX + hashlib.sha256(payload).hexdigest()[:32]


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
    strategy_version: Annotated[str, Field(max_length=32)] | None = None
    """The strategy's version, ``+<8 hex>`` when a deployment overrides its parameters."""
    market: Market | None = None
    candle_open_time: EpochMs | None = None
    """Candle strategies: the triggering candle's open time (epoch ms)."""
    candle_close_time: EpochMs | None = None
    event_time: EpochMs | None = None
    """Exchange time of the trigger (candles: ``candle_close_time``); ``timestamp`` equals it."""
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
        opened, closed = self.candle_open_time, self.candle_close_time
        if opened is not None and closed is not None and closed <= opened:
            raise ValueError("candle_close_time must be after candle_open_time")
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


class MarkedPosition(Position):
    """A position as the trade engine reports it: an open one with its unrealized P&L at
    the mark price now, or, when no mark price could be had, as last stored and why."""

    mark_price: Quantity | None = None
    """The mark price ``unrealized_pnl`` was computed at; None for closed positions and for
    open ones whose symbol has no mark price now."""
    mark_error: str | None = None
    """Why an open position has no live unrealized P&L (``unrealized_pnl`` is the value
    stored at ``updated_at``), e.g. a symbol the exchange no longer lists."""
