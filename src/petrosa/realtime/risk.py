"""The risk unit of STRATEGIES.md 4.1: u = max(0.3 % of price, 2·ATR14 of 1m candles).

ATR is Wilder's: the first value is the mean of the first 14 true ranges, each later one
``(ATR·13 + TR) / 14`` (TA-Lib's ``ATR``, so the TA bot and this agree). The service seeds
it from the Data Manager's 1m candles when it takes a symbol, then feeds each closed
``kline_1m``; until 15 candles were seen only the price floor applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from petrosa.contracts import Kline
from petrosa.realtime.events import Candle

ATR_PERIOD = 14
PRICE_FLOOR = 0.003
ATR_MULTIPLE = 2.0


@dataclass(frozen=True, slots=True)
class Bar:
    open_time: int
    high: float
    low: float
    close: float


class RiskUnit:
    """Wilder's ATR14 over closed 1m candles, and the unit it gives at a price."""

    def __init__(
        self, *, price_floor: float = PRICE_FLOOR, atr_multiple: float = ATR_MULTIPLE
    ) -> None:
        self.price_floor = price_floor
        self.atr_multiple = atr_multiple
        self.atr: float | None = None
        self.last_open_time: int | None = None
        self._previous_close: float | None = None
        self._seed_ranges: list[float] = []

    def seed(self, klines: Iterable[Kline | Candle | Bar]) -> None:
        """Feed history (oldest first); candles already seen are skipped."""
        for kline in klines:
            self.add(Bar(kline.open_time, kline.high, kline.low, kline.close))

    def add(self, bar: Bar) -> None:
        """One closed candle; a repeat or an older one (a redelivery) changes nothing."""
        if self.last_open_time is not None and bar.open_time <= self.last_open_time:
            return
        self.last_open_time = bar.open_time
        previous, self._previous_close = self._previous_close, bar.close
        if previous is None:
            return  # the first candle has no true range
        true_range = max(bar.high - bar.low, abs(bar.high - previous), abs(bar.low - previous))
        if self.atr is not None:
            self.atr = (self.atr * (ATR_PERIOD - 1) + true_range) / ATR_PERIOD
            return
        self._seed_ranges.append(true_range)
        if len(self._seed_ranges) == ATR_PERIOD:
            self.atr = sum(self._seed_ranges) / ATR_PERIOD
            self._seed_ranges = []

    def unit(self, price: float) -> float:
        """u at ``price``: the larger of the price floor and the ATR multiple."""
        floor = self.price_floor * price
        if self.atr is None:
            return floor
        return max(floor, self.atr_multiple * self.atr)
