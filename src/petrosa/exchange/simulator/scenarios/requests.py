"""How a scenario is asked for: ``POST /sim/scenarios`` bodies and the CLI's
``--scenario name:SYMBOL[:market]``. Kept free of the market modules, so the settings can
validate ``--scenario`` before anything is built."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from petrosa.exchange.simulator.instruments import MarketKind

MAX_DURATION_S = 86_400.0
SYMBOL_PATTERN = r"^[A-Z0-9]{2,20}$"


class ScenarioName(StrEnum):
    """The scripted scenarios (issue 11, section 2)."""

    ICEBERG = "iceberg"
    SPREAD_BLOWOUT = "spread_blowout"
    IMBALANCE = "imbalance"
    BUY_BURST = "buy_burst"
    FUNDING_EXTREME = "funding_extreme"


FUTURES_ONLY = frozenset({ScenarioName.FUNDING_EXTREME})
"""Scenarios of what only a perpetual has (funding)."""


def default_market(name: ScenarioName) -> MarketKind:
    """The market a scenario runs on when the request names none."""
    return MarketKind.FUTURES if name in FUTURES_ONLY else MarketKind.SPOT


class ScenarioRequest(BaseModel):
    """One scenario to start. ``start_ms`` (default: the next 100 ms step) is rounded up to a
    step and must lie after the simulated now; ``duration_s`` defaults per scenario;
    ``params`` are the scenario's own (see each scenario's ``*Params``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ScenarioName
    symbol: str = Field(pattern=SYMBOL_PATTERN)
    market: MarketKind | None = None
    start_ms: int | None = Field(default=None, ge=0)
    duration_s: float | None = Field(default=None, gt=0, le=MAX_DURATION_S)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _market_fits(self) -> ScenarioRequest:
        if self.market is MarketKind.SPOT and self.name in FUTURES_ONLY:
            raise ValueError(f"market: {self.name.value} runs on futures only")
        return self

    @property
    def market_kind(self) -> MarketKind:
        return self.market if self.market is not None else default_market(self.name)


def parse_spec(spec: str) -> dict[str, Any]:
    """``name:SYMBOL[:market]`` as request fields (validated by ``ScenarioRequest``)."""
    parts = spec.strip().split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"{spec!r} is not name:SYMBOL[:market]")
    fields: dict[str, Any] = {"name": parts[0], "symbol": parts[1].upper()}
    if len(parts) == 3:
        fields["market"] = parts[2]
    return fields
