"""The realtime strategy catalogue (STRATEGIES.md 4.2–4.7), by id."""

from __future__ import annotations

from typing import Any

from petrosa.realtime.strategies.funding_rate import FundingParams, FundingRate
from petrosa.realtime.strategies.iceberg_detector import IcebergDetector, IcebergParams
from petrosa.realtime.strategies.orderbook_imbalance import ImbalanceParams, OrderbookImbalance
from petrosa.realtime.strategies.spread_liquidity import SpreadLiquidity, SpreadParams
from petrosa.realtime.strategies.ticker_velocity import PriceSource, TickerVelocity, VelocityParams
from petrosa.realtime.strategies.trade_momentum import MomentumParams, TradeMomentum
from petrosa.realtime.strategy import RealtimeStrategy

StrategyType = type[RealtimeStrategy[Any]]

CATALOGUE: dict[str, StrategyType] = {
    cls.id: cls
    for cls in (
        SpreadLiquidity,
        IcebergDetector,
        OrderbookImbalance,
        TradeMomentum,
        TickerVelocity,
        FundingRate,
    )
}

__all__ = [
    "CATALOGUE",
    "FundingParams",
    "FundingRate",
    "IcebergDetector",
    "IcebergParams",
    "ImbalanceParams",
    "MomentumParams",
    "OrderbookImbalance",
    "PriceSource",
    "SpreadLiquidity",
    "SpreadParams",
    "StrategyType",
    "TickerVelocity",
    "TradeMomentum",
    "VelocityParams",
]
