"""Tables for market data, keyed by their natural keys.

Klines and trades lead their keys with the market (``spot`` | ``futures``): Binance lists the
same symbols on both with different candles and independent trade ids. Every hot read fixes
market, symbol (and interval) and ranges over the last key column, so the primary key alone
serves the newest-N page, cursor pages and coverage. Funding rates exist only for futures.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Double, Index, String, Table

from petrosa.datamanager.storage.metadata import metadata

MARKET_LENGTH = 8
"""``spot`` or ``futures``."""

klines = Table(
    "klines",
    metadata,
    Column("market", String(MARKET_LENGTH), primary_key=True),
    Column("symbol", String(20), primary_key=True),
    Column("interval", String(3), primary_key=True),
    Column("open_time", BigInteger, primary_key=True, autoincrement=False),
    Column("open", Double, nullable=False),
    Column("high", Double, nullable=False),
    Column("low", Double, nullable=False),
    Column("close", Double, nullable=False),
    Column("volume", Double, nullable=False),
    Column("close_time", BigInteger, nullable=False),
    Column("quote_volume", Double, nullable=False),
    Column("trades", BigInteger, nullable=False),
    Column("taker_buy_base_volume", Double, nullable=False),
    Column("taker_buy_quote_volume", Double, nullable=False),
    sqlite_with_rowid=False,
)

trades = Table(
    "trades",
    metadata,
    Column("market", String(MARKET_LENGTH), primary_key=True),
    Column("symbol", String(20), primary_key=True),
    Column("trade_id", BigInteger, primary_key=True, autoincrement=False),
    Column("price", Double, nullable=False),
    Column("quantity", Double, nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("is_buyer_maker", Boolean, nullable=False),
    Column("first_trade_id", BigInteger, nullable=True),
    Column("last_trade_id", BigInteger, nullable=True),
    Index("ix_trades_market_symbol_time", "market", "symbol", "time"),
    sqlite_with_rowid=False,
)

funding_rates = Table(
    "funding_rates",
    metadata,
    Column("symbol", String(20), primary_key=True),
    Column("funding_time", BigInteger, primary_key=True, autoincrement=False),
    Column("funding_rate", Double, nullable=False),
    Column("mark_price", Double, nullable=True),
    sqlite_with_rowid=False,
)
