"""What a realtime strategy is, and what it hands the engine.

A strategy instance holds one symbol's state for one rule: its windows, its hysteresis.
``on_event`` sees each event of the feeds it reads, in order, and returns a ``Decision``
when its rule fires. Everything shared is the engine's: the warm-up gate, the cooldown,
central validation, the signal contract. A reset replaces the instance, so no strategy
carries a ``reset`` of its own that could forget a field.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from petrosa.contracts import Market
from petrosa.realtime.events import Feed, MarketEvent
from petrosa.realtime.risk import RiskUnit
from petrosa.realtime.validation import ValidationBounds

MS = 1_000
BOTH_MARKETS = frozenset({Market.SPOT, Market.FUTURES})


class Side(IntEnum):
    SELL = -1
    BUY = 1

    @property
    def action(self) -> str:
        return self.name.lower()


class RealtimeParams(BaseModel):
    """Settings every realtime strategy has; each strategy's model adds its rule's numbers
    and its own cooldown default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cooldown_s: float = Field(120.0, ge=0, le=86_400, description="per symbol, event time")
    bounds: ValidationBounds = Field(default_factory=ValidationBounds)


P = TypeVar("P", bound=RealtimeParams)


@dataclass(frozen=True, slots=True)
class Decision:
    """A fired rule: what it asks for, its levels, and the inputs that made it fire."""

    side: Side
    price: float
    stop_loss: float
    take_profit: float
    confidence: float
    inputs: Mapping[str, float | int | str] = field(default_factory=dict)
    cooldown_key: Hashable = ()
    """Cooldowns are per symbol (key ``()``); the iceberg detector's per (side, price)."""
    id_time_ms: int | None = None
    """The signal-id time when it is not the event time floored to the cooldown (funding: T)."""


def risk_levels(side: Side, price: float, unit: float) -> tuple[float, float]:
    """SL = price ∓ u, TP = price ± 2u (STRATEGIES.md 4.1)."""
    return price - side * unit, price + side * 2 * unit


class RealtimeStrategy(ABC, Generic[P]):
    """One rule's state for one (market, symbol)."""

    id: ClassVar[str]
    version: ClassVar[int]
    params_type: ClassVar[type[RealtimeParams]]
    markets: ClassVar[frozenset[Market]] = BOTH_MARKETS
    summary: ClassVar[str]

    def __init__(self, params: P, risk: RiskUnit) -> None:
        self.params = params
        self.risk = risk

    @property
    @abstractmethod
    def feeds(self) -> frozenset[Feed]:
        """The feeds whose events ``on_event`` reads; their staleness resets the strategy."""

    @property
    @abstractmethod
    def warm_up_ms(self) -> int:
        """Event time its windows need after a (re)start before the rule means anything."""

    @property
    @abstractmethod
    def evaluable(self) -> bool:
        """Whether its windows hold what the rule reads (beyond the time, e.g. counts)."""

    @abstractmethod
    def on_event(self, event: MarketEvent) -> Decision | None:
        """Update the state with one event of its feeds; the decision when the rule fires."""

    @property
    def gate_ms(self) -> int:
        """How long after a (re)start nothing is published: the warm-up, and at least the
        cooldown, so a new owner cannot repeat a signal its predecessor made inside it."""
        return max(self.warm_up_ms, round(self.params.cooldown_s * MS))
