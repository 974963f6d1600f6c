"""The trading-state stores, built once per app."""

from __future__ import annotations

from petrosa.datamanager.storage.database import Database
from petrosa.datamanager.trading.config import ConfigStore
from petrosa.datamanager.trading.pnl import DailyPnlStore
from petrosa.datamanager.trading.positions import PositionStore


class TradingStore:
    def __init__(self, db: Database) -> None:
        self.positions = PositionStore(db)
        self.pnl = DailyPnlStore(db)
        self.config = ConfigStore(db)
