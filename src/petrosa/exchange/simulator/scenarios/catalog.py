"""Which class, parameters and default length each scenario has, and how one is built from
a request once its start and length are settled."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from petrosa.exchange.simulator.funding import FUNDING_INTERVAL_MS
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.market import SyntheticMarket
from petrosa.exchange.simulator.scenarios.base import Scenario, Window
from petrosa.exchange.simulator.scenarios.book_scenarios import (
    Iceberg,
    IcebergParams,
    Imbalance,
    ImbalanceParams,
    SpreadBlowout,
    SpreadParams,
    typical_level_lots,
)
from petrosa.exchange.simulator.scenarios.burst import BurstParams, BuyBurst, burst_span_ms
from petrosa.exchange.simulator.scenarios.funding_extreme import FundingExtreme, FundingParams
from petrosa.exchange.simulator.scenarios.requests import ScenarioName


@dataclass(frozen=True)
class Head:
    """What every scenario is given: its identity, market and timing."""

    id: int
    name: ScenarioName
    kind: MarketKind
    symbol: str
    start_ms: int
    duration_ms: int
    """The request's ``duration_s`` (for a burst: the buying; its fade comes after)."""

    def fields(self, end_ms: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "symbol": self.symbol,
            "window": Window(self.start_ms, end_ms),
        }

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms


Builder = Callable[[Head, SyntheticMarket, Any], Scenario]


@dataclass(frozen=True)
class ScenarioKind:
    """One entry of the catalogue."""

    params: type[BaseModel]
    default_duration_s: float | None
    """None: until the next funding time after the start."""
    build: Builder


def _iceberg(head: Head, market: SyntheticMarket, settings: IcebergParams) -> Scenario:
    fixed = Iceberg.prepare(market, head.start_ms, settings)
    return Iceberg(**head.fields(head.end_ms), **fixed)


def _spread(head: Head, market: SyntheticMarket, settings: SpreadParams) -> Scenario:
    return SpreadBlowout(**head.fields(head.end_ms), settings=settings)


def _imbalance(head: Head, market: SyntheticMarket, settings: ImbalanceParams) -> Scenario:
    lots = typical_level_lots(market)
    return Imbalance(**head.fields(head.end_ms), settings=settings, typical_lots=lots)


def _burst(head: Head, market: SyntheticMarket, settings: BurstParams) -> Scenario:
    fixed = BuyBurst.prepare(market, head.start_ms, settings)
    end = head.start_ms + burst_span_ms(head.duration_ms, settings)
    return BuyBurst(**head.fields(end), buying_ms=head.duration_ms, **fixed)


def _funding(head: Head, market: SyntheticMarket, settings: FundingParams) -> Scenario:
    return FundingExtreme(**head.fields(head.end_ms), settings=settings)


CATALOG: dict[ScenarioName, ScenarioKind] = {
    ScenarioName.ICEBERG: ScenarioKind(IcebergParams, 90.0, _iceberg),
    ScenarioName.SPREAD_BLOWOUT: ScenarioKind(SpreadParams, 45.0, _spread),
    ScenarioName.IMBALANCE: ScenarioKind(ImbalanceParams, 30.0, _imbalance),
    ScenarioName.BUY_BURST: ScenarioKind(BurstParams, 30.0, _burst),
    ScenarioName.FUNDING_EXTREME: ScenarioKind(FundingParams, None, _funding),
}
"""Default lengths give each strategy its persistence with margin: the iceberg 22 refills
(3 needed), the blow-out 45 s wide (the buy wants > 30 s), the imbalance 30 s (10 s)."""


def until_settlement_ms(start_ms: int) -> int:
    """From ``start_ms`` to the next funding time."""
    return (start_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS - start_ms
