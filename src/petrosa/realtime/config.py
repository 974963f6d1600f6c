"""Which strategies run on a symbol, with which parameters: the Data Manager's document.

Shape (every part optional; a strategy not named runs with its defaults)::

    {"strategies": {"iceberg_detector": {"enabled": true, "params": {"cooldown_s": 90}}},
     "symbols": {"BTCUSDT": {"spread_liquidity": {"params": {"spread_threshold_bps": 0.5}}}}}

A symbol's entry is laid over the global one (its ``params`` merged key by key). Every
combination is validated when the document is, so a bad document is refused whole before
it replaces a good one; the service fetches, validates and applies it without a restart.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from petrosa.contracts import Market
from petrosa.realtime.strategies import CATALOGUE
from petrosa.realtime.strategy import RealtimeParams


class StrategySettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool | None = Field(None, description="None: as the global entry (default on)")
    params: dict[str, Any] = Field(default_factory=dict)


class RealtimeConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    strategies: dict[str, StrategySettings] = Field(default_factory=dict)
    symbols: dict[str, dict[str, StrategySettings]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _valid_everywhere(self) -> Self:
        named = set(self.strategies).union(*self.symbols.values())
        unknown = named - set(CATALOGUE)
        if unknown:
            raise ValueError(f"unknown strategies {sorted(unknown)}; known: {sorted(CATALOGUE)}")
        for symbol in (None, *self.symbols):
            for strategy_id in CATALOGUE:
                try:
                    self._params(strategy_id, symbol)
                except ValidationError as error:
                    raise ValueError(_located(error, strategy_id, symbol)) from None
        return self

    def resolve(self, market: Market, symbol: str) -> dict[str, RealtimeParams]:
        """The enabled strategies that apply to the market, with their parameters."""
        resolved: dict[str, RealtimeParams] = {}
        for strategy_id, cls in CATALOGUE.items():
            if market not in cls.markets:
                continue
            params = self._params(strategy_id, symbol)
            if params is not None:
                resolved[strategy_id] = params
        return resolved

    def _params(self, strategy_id: str, symbol: str | None) -> RealtimeParams | None:
        base = self.strategies.get(strategy_id, StrategySettings())
        local = self.symbols.get(symbol, {}).get(strategy_id) if symbol is not None else None
        enabled = base.enabled is not False
        values = dict(base.params)
        if local is not None:
            enabled = enabled if local.enabled is None else local.enabled
            values.update(local.params)
        params = CATALOGUE[strategy_id].params_type.model_validate(values)
        return params if enabled else None


def _located(error: ValidationError, strategy_id: str, symbol: str | None) -> str:
    """A parameter error with the document path of the field (the model alone names only
    the parameter, not which strategy or symbol entry it came from)."""
    where = f"strategies.{strategy_id}" if symbol is None else f"symbols.{symbol}.{strategy_id}"
    return "; ".join(
        f"{where}.params.{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
        for item in error.errors()
    )
