"""``DataManagerClient``: the core plus every domain's methods, in one async client."""

from __future__ import annotations

from petrosa.client._base import ClientCore
from petrosa.client._documents import DocumentsMixin
from petrosa.client._market import MarketDataMixin
from petrosa.client._trading import TradingStateMixin


class DataManagerClient(MarketDataMixin, DocumentsMixin, TradingStateMixin, ClientCore):
    """Async client of the Data Manager HTTP API, with retries and a circuit breaker.

    ::

        async with DataManagerClient() as dm:  # DATA_MANAGER_URL, DATA_MANAGER_TOKEN
            await dm.insert_klines("BTCUSDT", "1m", rows)
            latest = await dm.get_latest_kline("BTCUSDT", "1m")

    One instance holds one connection pool; share it within an event loop. For blocking
    code use ``SyncDataManagerClient``, which has the same methods.
    """
