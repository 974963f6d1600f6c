"""The three market-data series and the candle cache, as one store per app."""

from __future__ import annotations

from petrosa.datamanager.market.cache import CandleCache
from petrosa.datamanager.market.ingest import FUNDING_COLUMNS, KLINE_VALUE_FIELDS, TRADE_COLUMNS
from petrosa.datamanager.market.series import SeriesSpec, SeriesStore
from petrosa.datamanager.storage.database import Database
from petrosa.datamanager.storage.market_schema import funding_rates, klines, trades

KLINES = SeriesSpec(
    table=klines,
    partition=("market", "symbol", "interval"),
    key="open_time",
    time_column="open_time",
    value_columns=KLINE_VALUE_FIELDS,
    plain_sqlite_reads=True,
)
TRADES = SeriesSpec(
    table=trades, partition=("market", "symbol"), key="trade_id", time_column="time",
    value_columns=TRADE_COLUMNS,
)  # fmt: skip
FUNDING = SeriesSpec(
    table=funding_rates, partition=("symbol",), key="funding_time", time_column="funding_time",
    value_columns=FUNDING_COLUMNS,
)  # fmt: skip


class MarketStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.klines = SeriesStore(db, KLINES)
        self.trades = SeriesStore(db, TRADES)
        self.funding = SeriesStore(db, FUNDING)
        self.candle_cache = CandleCache(db.settings.candle_cache_ttl_s)
