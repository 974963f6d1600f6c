"""The one place where a trade-engine replica is assembled from the environment.

Everything the engine talks to is built here from its settings and handed to
:class:`~petrosa.tradeengine.service.Engine`; nothing below reads the environment again.
"""

from __future__ import annotations

from petrosa.bus import BusSettings
from petrosa.client import DataManagerClient
from petrosa.coordination import CoordinationSettings, Locks
from petrosa.exchange.binance import BinanceFuturesTrading, BinanceSettings
from petrosa.exchange.trading import TradingExchange
from petrosa.tradeengine.service import Engine
from petrosa.tradeengine.settings import TradeEngineSettings


def build_engine(
    settings: TradeEngineSettings,
    *,
    bus: BusSettings | None = None,
    coordination: CoordinationSettings | None = None,
    binance: BinanceSettings | None = None,
) -> Engine:
    """An engine on the Data Manager of ``DATA_MANAGER_URL``, the exchange of ``settings``,
    the coordination store of ``COORDINATION_URL`` and, when ``NATS_URL`` is set, NATS."""
    return Engine(
        settings,
        store=DataManagerClient(),
        exchange=exchange_of(settings, binance or BinanceSettings()),
        locks=Locks.from_settings(coordination),
        nats_url=(bus or BusSettings()).nats_url,
    )


def exchange_of(settings: TradeEngineSettings, binance: BinanceSettings) -> TradingExchange:
    """paper: the simulator at ``BINANCE_FUTURES_API_URL``; binance: the real exchange."""
    key, secret = settings.api_key.get_secret_value(), settings.api_secret.get_secret_value()
    if settings.exchange == "paper":
        return BinanceFuturesTrading(key, secret, base_url=binance.futures_api_url)
    return BinanceFuturesTrading(key, secret, testnet=settings.testnet)
