"""The trading configuration: stored in the Data Manager, validated here, applied live.

Two kinds of document, both versioned and audited by the Data Manager:

- the service document (app configuration key ``TABOT_CONFIG_KEY``, ``tabot.service``):
  :class:`ServiceConfig` — enabled strategies, symbols, timeframes, default bounds;
- per strategy, its parameters (``/config/strategies/<id>``, globally and per symbol),
  validated by the strategy's own frozen parameter model.

The Data Manager stores any JSON, so validation happens here, on write (the service's
``PUT /config/...`` endpoints refuse a bad value with the field named) and again on every
read (a value written past the service is reported, and the last valid one stays in use).
A :class:`ConfigSnapshot` is immutable: a trigger evaluates against one snapshot, and a
reload swaps the whole snapshot at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from petrosa.client import DataManagerClient
from petrosa.contracts import Interval
from petrosa.contracts.market import Symbol
from petrosa.tabot import BY_ID, CATALOGUE, Strategy, StrategyParams, ValidationBounds
from petrosa.tabot.service.settings import TabotSettings

log = logging.getLogger(__name__)

LOAD_CONCURRENCY = 8
"""Strategy-configuration reads in flight at once while loading."""


class ServiceConfig(BaseModel):
    """The service document. Unset fields fall back to the environment's defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: tuple[str, ...] | None = Field(
        None, description="Strategy ids evaluated; None: the whole catalogue"
    )
    symbols: tuple[Symbol, ...] | None = Field(None, min_length=1)
    timeframes: tuple[Interval, ...] | None = Field(None, min_length=1)
    bounds: ValidationBounds | None = Field(
        None, description="Confidence and level bounds for strategies that set none"
    )

    @field_validator("enabled")
    @classmethod
    def _known(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        unknown = [s for s in value or () if s not in BY_ID]
        if unknown:
            raise ValueError(f"unknown strategies: {', '.join(unknown)}")
        return value

    @field_validator("timeframes")
    @classmethod
    def _fixed(cls, value: tuple[Interval, ...] | None) -> tuple[Interval, ...] | None:
        if value is not None and Interval.MO1 in value:
            raise ValueError("1M has no fixed length; candle windows need one")
        return value


class ConfigRefused(ValueError):
    """A configuration value refused; ``errors`` name the fields (pydantic's items)."""

    def __init__(self, errors: Sequence[Mapping[str, Any]], prefix: tuple[str | int, ...]) -> None:
        self.errors = [
            {
                "loc": [*prefix, *item.get("loc", ())],
                "msg": str(item.get("msg", "")),
                "type": str(item.get("type", "value_error")),
            }
            for item in errors
        ]
        super().__init__("; ".join(describe(item) for item in self.errors))


def describe(error: Mapping[str, Any]) -> str:
    """``field.path: message``."""
    path = ".".join(str(part) for part in error["loc"])
    return f"{path}: {error['msg']}" if path else str(error["msg"])


def validate_service(document: Any) -> ServiceConfig:
    try:
        return ServiceConfig.model_validate(document)
    except ValidationError as error:
        raise ConfigRefused(error.errors(), ()) from None


def validate_parameters(
    strategy: Strategy[Any], parameters: Mapping[str, Any], bounds: ValidationBounds | None = None
) -> StrategyParams:
    """The strategy's parameters with ``parameters`` applied (``bounds`` when they set none)."""
    values = dict(parameters)
    if bounds is not None and "bounds" not in values:
        values["bounds"] = bounds.model_dump()
    try:
        params: StrategyParams = strategy.params(values)
    except ValidationError as error:
        raise ConfigRefused(error.errors(), ("parameters",)) from None
    return params


@dataclass(frozen=True)
class StrategySetting:
    """One strategy's parameters for one symbol, and where they came from."""

    params: StrategyParams
    version: int
    """The Data Manager's version of the strategy's (global + symbol) configuration; 0: none."""


@dataclass(frozen=True)
class ConfigSnapshot:
    service: ServiceConfig
    service_version: int
    symbols: tuple[str, ...]
    timeframes: tuple[Interval, ...]
    enabled: tuple[Strategy[Any], ...]
    settings: Mapping[tuple[str, str], StrategySetting]
    """(strategy id, symbol) → parameters, for every enabled strategy and symbol (missing
    where the stored parameters are refused and no earlier valid ones exist: not run)."""
    problems: tuple[str, ...] = ()
    """Stored values refused on load (the field named); the last valid value is in use."""
    audit_mark: int = 0
    """Newest configuration-audit entry id when this snapshot was loaded."""
    idle: tuple[str, ...] = field(default=())
    """Enabled strategies whose ``timeframes`` miss every timeframe of the service."""

    def strategies_for(
        self, symbol: str, interval: Interval
    ) -> list[tuple[Strategy[Any], StrategySetting]]:
        """The enabled strategies running on ``interval`` for ``symbol``, with their settings."""
        if symbol not in self.symbols or interval not in self.timeframes:
            return []
        chosen = []
        for strategy in self.enabled:
            setting = self.settings.get((strategy.id, symbol))
            if setting is not None and strategy.runs_on(interval, setting.params):
                chosen.append((strategy, setting))
        return chosen

    def describe(self) -> dict[str, Any]:
        """The effective configuration as JSON (``GET /config``)."""
        return {
            "service": self.service.model_dump(mode="json"),
            "service_version": self.service_version,
            "symbols": list(self.symbols),
            "timeframes": [t.value for t in self.timeframes],
            "enabled": [s.id for s in self.enabled],
            "idle": list(self.idle),
            "problems": list(self.problems),
            "overrides": {
                f"{sid}:{symbol}": {
                    "version": setting.version,
                    "parameters": setting.params.model_dump(mode="json", exclude_defaults=True),
                }
                for (sid, symbol), setting in sorted(self.settings.items())
                if setting.version
            },
        }


class ConfigStore:
    """Reads, validates and writes the configuration through the Data Manager."""

    def __init__(self, dm: DataManagerClient, settings: TabotSettings) -> None:
        self.dm = dm
        self.settings = settings

    async def audit_mark(self) -> int:
        """Id of the newest configuration change anywhere (0: none): a cheap change probe."""
        entries = await self.dm.get_config_audit(limit=1)
        return entries[0].id if entries else 0

    async def load(self, previous: ConfigSnapshot | None = None) -> ConfigSnapshot:
        mark = await self.audit_mark()
        problems: list[str] = []
        stored = await self.dm.get_app_config(self.settings.config_key)
        service, version = ServiceConfig(), 0
        if stored is not None:
            version = stored.version
            try:
                service = validate_service(stored.value)
            except ConfigRefused as refused:
                problems.append(f"{self.settings.config_key}: {refused}")
                if previous is not None:
                    service, version = previous.service, previous.service_version
        symbols = tuple(service.symbols or self.settings.symbols)
        timeframes = tuple(service.timeframes or self.settings.timeframes)
        enabled = tuple(BY_ID[s] for s in service.enabled) if service.enabled else CATALOGUE
        gate = asyncio.Semaphore(LOAD_CONCURRENCY)

        async def one(strategy: Strategy[Any], symbol: str) -> None:
            async with gate:
                found = await self.dm.get_strategy_config(strategy.id, symbol)
            parameters = {} if found is None else found.parameters
            try:
                params = validate_parameters(strategy, parameters, service.bounds)
            except ConfigRefused as refused:
                problems.append(f"strategy {strategy.id} ({symbol}): {refused}")
                kept = None if previous is None else previous.settings.get((strategy.id, symbol))
                if kept is not None:
                    settings[(strategy.id, symbol)] = kept
                return
            settings[(strategy.id, symbol)] = StrategySetting(
                params, 0 if found is None else found.version
            )

        settings: dict[tuple[str, str], StrategySetting] = {}
        await asyncio.gather(*(one(s, symbol) for s in enabled for symbol in symbols))
        idle = tuple(
            s.id
            for s in enabled
            if not any(
                s.runs_on(t, settings[(s.id, symbol)].params)
                for t in timeframes
                for symbol in symbols
                if (s.id, symbol) in settings
            )
        )
        return ConfigSnapshot(
            service=service,
            service_version=version,
            symbols=symbols,
            timeframes=timeframes,
            enabled=enabled,
            settings=settings,
            problems=tuple(sorted(problems)),
            audit_mark=mark,
            idle=idle,
        )

    async def set_service(self, document: Any) -> ServiceConfig:
        """Validate and store the service document; refused values raise ``ConfigRefused``."""
        service = validate_service(document)
        value = service.model_dump(mode="json", exclude_none=True)
        await self.dm.set_app_config(
            self.settings.config_key, value, changed_by=self.settings.changed_by
        )
        return service

    async def set_strategy(
        self, strategy_id: str, parameters: Mapping[str, Any], *, symbol: str | None = None
    ) -> StrategyParams:
        """Validate and store a strategy's parameters (globally, or one symbol's overrides,
        checked merged over the global ones). Unknown strategy: ``KeyError``."""
        strategy = BY_ID.get(strategy_id)
        if strategy is None:
            raise KeyError(strategy_id)
        merged = dict(parameters)
        if symbol is not None:
            current = await self.dm.get_strategy_config(strategy_id)
            merged = {**(current.global_parameters if current else {}), **merged}
        params = validate_parameters(strategy, merged)
        await self.dm.set_strategy_config(
            strategy_id, dict(parameters), symbol=symbol, changed_by=self.settings.changed_by
        )
        return params
