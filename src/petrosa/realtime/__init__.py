"""The realtime strategies service: order-book and trade-flow signals from the live streams.

The pure core the service drives (STRATEGIES.md 4 and 5): ``parse_message`` turns a NATS
message into a typed event, one ``SymbolEngine`` per owned (market, symbol) turns events
into ``Emission``\\ s (a contract ``Signal`` and the market state behind it), configured by
a validated ``RealtimeConfig``.
"""

from petrosa.realtime.config import RealtimeConfig, StrategySettings
from petrosa.realtime.engine import (
    STALE_AFTER_MS,
    EngineStats,
    EngineStatus,
    FeedStatus,
    StrategyState,
    StrategyStats,
    SymbolEngine,
)
from petrosa.realtime.events import (
    AggTrade,
    BookSnapshot,
    BookSource,
    Candle,
    Feed,
    MarketEvent,
    MarkPrice,
    TickerPrice,
)
from petrosa.realtime.parsing import InputError, parse_message, parse_subject
from petrosa.realtime.signals import Emission
from petrosa.realtime.strategies import CATALOGUE
from petrosa.realtime.strategy import Decision, RealtimeParams, RealtimeStrategy, Side
from petrosa.realtime.validation import Rejection, StrategyContractError, ValidationBounds

__all__ = [
    "CATALOGUE",
    "STALE_AFTER_MS",
    "AggTrade",
    "BookSnapshot",
    "BookSource",
    "Candle",
    "Decision",
    "Emission",
    "EngineStats",
    "EngineStatus",
    "Feed",
    "FeedStatus",
    "InputError",
    "MarkPrice",
    "MarketEvent",
    "RealtimeConfig",
    "RealtimeParams",
    "RealtimeStrategy",
    "Rejection",
    "Side",
    "StrategyContractError",
    "StrategySettings",
    "StrategyState",
    "StrategyStats",
    "SymbolEngine",
    "TickerPrice",
    "ValidationBounds",
    "parse_message",
    "parse_subject",
]
