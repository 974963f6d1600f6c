"""Candle windows read through the Data Manager client — the service's only data path.

Exactly the rows asked for (the largest enabled ``rows_needed()`` plus the margin), newest
first in Binance's array layout, ending before ``end_ms`` (exclusive, on open times): the
caller chooses ``end_ms`` so that every row is a closed candle. No fixed row count, no
fallback source: when the Data Manager cannot answer, the trigger is retried later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from petrosa.client import DataManagerClient
from petrosa.contracts import Interval, Market
from petrosa.tabot import CandleWindow

MAX_ROWS_PER_READ = 5_000
"""The Data Manager's largest page."""


class CandleReader:
    def __init__(self, dm: DataManagerClient, market: Market) -> None:
        self.dm = dm
        self.market = market

    async def window(self, symbol: str, interval: Interval, rows: int, end_ms: int) -> CandleWindow:
        """The last ``rows`` stored candles opening before ``end_ms`` (fewer if fewer exist)."""
        collected: list[list[Any]] = []
        cursor: str | None = None
        while len(collected) < rows:
            page = await self.dm.get_candle_arrays(
                symbol,
                interval,
                limit=min(MAX_ROWS_PER_READ, rows - len(collected)),
                end=end_ms,
                order="desc",
                cursor=cursor,
                market=self.market,
            )
            collected += page
            cursor = page.next_cursor
            if cursor is None or not page:
                break
        return to_window(interval, collected[::-1])


def to_window(interval: Interval, rows: Sequence[Sequence[Any]]) -> CandleWindow:
    """Binance 12-field arrays (oldest first) as a candle window."""
    if not rows:
        empty = np.empty(0)
        return CandleWindow.from_arrays(interval, np.empty(0, np.int64), *[empty] * 5)
    open_time = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    prices = np.array([row[1:6] for row in rows], dtype=np.float64)
    return CandleWindow.from_arrays(interval, open_time, *prices.T)


def after_last_gap(candles: CandleWindow) -> CandleWindow:
    """The rows after the window's last gap in open times (all of it when there is none):
    a strategy needing fewer rows than that still runs; the others are skipped."""
    if len(candles) < 2:
        return candles
    bad = np.flatnonzero(np.diff(candles.open_time) != candles.step_ms)
    return candles if len(bad) == 0 else candles.rows(int(bad[-1]) + 1, None)
