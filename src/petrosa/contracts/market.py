"""Market-data wire models: klines, trades, funding rates.

Market data travels as floats (Binance sends decimal strings, which are parsed); open and
close times stay Binance's integer epoch milliseconds.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

SYMBOL_PATTERN = r"^[A-Z0-9]{2,20}$"
_SYMBOL_RE = re.compile(SYMBOL_PATTERN)

MINUTE_MS = 60_000
DEFAULT_SYMBOLS: tuple[str, ...] = (
    "BTCUSDT", "ETHUSDT", "BNBUSDT", "ADAUSDT", "DOTUSDT",
    "LINKUSDT", "LTCUSDT", "BCHUSDT", "XLMUSDT", "XRPUSDT",
)  # fmt: skip
"""What every service works on when ``DEFAULT_SYMBOLS`` is not set."""
WEEK_PHASE_MS = 4 * 86_400_000


class Market(StrEnum):
    """A Binance market: spot or USD-M futures. They list the same symbols with their own
    candles and their own trade-id spaces, so market data is stored per market."""

    SPOT = "spot"
    FUTURES = "futures"


DEFAULT_MARKET = Market.FUTURES
"""The market assumed when none is given (the extractor's default, and where market data
stored before markets were told apart was placed)."""


class Interval(StrEnum):
    """Kline intervals in Binance spelling."""

    M1 = "1m"
    M3 = "3m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H2 = "2h"
    H4 = "4h"
    H6 = "6h"
    H8 = "8h"
    H12 = "12h"
    D1 = "1d"
    D3 = "3d"
    W1 = "1w"
    MO1 = "1M"

    @property
    def milliseconds(self) -> int | None:
        """Fixed length in ms, or None for the calendar month (variable length)."""
        return _INTERVAL_MS[self]

    @property
    def phase_ms(self) -> int:
        """Offset of the candle grid from the epoch: weeks open on Monday, the epoch was a
        Thursday, so weekly candles sit 4 days off; every other fixed interval sits on it."""
        return WEEK_PHASE_MS if self is Interval.W1 else 0

    def floor(self, ms: int) -> int:
        """Open time of the candle containing ``ms`` (fixed-length intervals only)."""
        step = self._fixed_step()
        return self.phase_ms + ((ms - self.phase_ms) // step) * step

    def ceil(self, ms: int) -> int:
        """The first open time at or after ``ms`` (fixed-length intervals only)."""
        step = self._fixed_step()
        return self.phase_ms - ((self.phase_ms - ms) // step) * step

    def is_open_time(self, ms: int) -> bool:
        """True when a candle of this interval can open at ``ms``: on the grid, as Binance's
        do (weeks on Monday 00:00 UTC, months on the 1st at 00:00 UTC, the rest on the epoch)."""
        step = _INTERVAL_MS[self]
        if step is not None:
            return (ms - self.phase_ms) % step == 0
        if ms % 1000:
            return False
        moment = dt.datetime.fromtimestamp(ms // 1000, dt.UTC)
        return moment.day == 1 and moment.time() == dt.time(0)

    def first_off_grid(self, open_times: Iterable[int]) -> int | None:
        """Index of the first open time that is not on this interval's grid, or None."""
        step, phase = _INTERVAL_MS[self], self.phase_ms
        for index, ms in enumerate(open_times):
            off = (ms - phase) % step if step is not None else not self.is_open_time(ms)
            if off:
                return index
        return None

    def _fixed_step(self) -> int:
        step = _INTERVAL_MS[self]
        if step is None:
            raise ValueError(f"interval {self.value} has no fixed length")
        return step


_INTERVAL_MS: dict[Interval, int | None] = {
    Interval.M1: MINUTE_MS,
    Interval.M3: 3 * MINUTE_MS,
    Interval.M5: 5 * MINUTE_MS,
    Interval.M15: 15 * MINUTE_MS,
    Interval.M30: 30 * MINUTE_MS,
    Interval.H1: 60 * MINUTE_MS,
    Interval.H2: 120 * MINUTE_MS,
    Interval.H4: 240 * MINUTE_MS,
    Interval.H6: 360 * MINUTE_MS,
    Interval.H8: 480 * MINUTE_MS,
    Interval.H12: 720 * MINUTE_MS,
    Interval.D1: 1_440 * MINUTE_MS,
    Interval.D3: 3 * 1_440 * MINUTE_MS,
    Interval.W1: 7 * 1_440 * MINUTE_MS,
    Interval.MO1: None,
}


def check_symbol(value: str) -> str:
    """Validate an uppercase Binance symbol such as ``BTCUSDT``."""
    if not _SYMBOL_RE.fullmatch(value):
        raise ValueError("symbol must be 2-20 uppercase letters or digits, e.g. BTCUSDT")
    return value


def check_finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def check_non_negative(value: float) -> float:
    check_finite(value)
    if value < 0:
        raise ValueError("must not be negative")
    return value


Symbol = Annotated[str, AfterValidator(check_symbol)]
Price = Annotated[float, AfterValidator(check_non_negative)]
Amount = Annotated[float, AfterValidator(check_non_negative)]
FiniteFloat = Annotated[float, AfterValidator(check_finite)]
EpochMs = Annotated[int, Field(ge=0, le=4_102_444_800_000)]  # up to 2100-01-01


class Kline(BaseModel):
    """One candle. ``open_time`` identifies it within (market, symbol, interval)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    open_time: EpochMs
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Amount
    close_time: EpochMs
    quote_volume: Amount = 0.0
    trades: int = Field(default=0, ge=0)
    taker_buy_base_volume: Amount = 0.0
    taker_buy_quote_volume: Amount = 0.0

    @model_validator(mode="after")
    def _check_ranges(self) -> Self:
        if self.high < self.low:
            raise ValueError("high must be >= low")
        if not (self.low <= self.open <= self.high and self.low <= self.close <= self.high):
            raise ValueError("open and close must lie within [low, high]")
        if self.close_time < self.open_time:
            raise ValueError("close_time must be >= open_time")
        return self

    @classmethod
    def from_binance(cls, row: list[Any] | tuple[Any, ...]) -> Kline:
        """Parse Binance's 12-field kline array (REST response or archive CSV row)."""
        if len(row) < 11:
            raise ValueError(f"a Binance kline has 12 fields, got {len(row)}")
        return cls(
            open_time=int(row[0]),
            open=float(row[1]),
            high=float(row[2]),
            low=float(row[3]),
            close=float(row[4]),
            volume=float(row[5]),
            close_time=int(row[6]),
            quote_volume=float(row[7]),
            trades=int(row[8]),
            taker_buy_base_volume=float(row[9]),
            taker_buy_quote_volume=float(row[10]),
        )

    def to_binance(self) -> list[Any]:
        """Binance's 12-field array, decimals as strings, as the REST API serves it."""
        return [
            self.open_time,
            _decimal_text(self.open),
            _decimal_text(self.high),
            _decimal_text(self.low),
            _decimal_text(self.close),
            _decimal_text(self.volume),
            self.close_time,
            _decimal_text(self.quote_volume),
            self.trades,
            _decimal_text(self.taker_buy_base_volume),
            _decimal_text(self.taker_buy_quote_volume),
            "0",
        ]


def _decimal_text(value: float) -> str:
    return repr(value)


class Trade(BaseModel):
    """An aggregate trade, identified by (market, symbol, trade_id)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trade_id: int = Field(ge=0)
    price: Price
    quantity: Amount
    time: EpochMs
    is_buyer_maker: bool
    first_trade_id: int | None = Field(default=None, ge=0)
    last_trade_id: int | None = Field(default=None, ge=0)

    @classmethod
    def from_binance_agg(cls, item: dict[str, Any]) -> Trade:
        """Parse a Binance aggTrades item (``a p q f l T m``)."""
        return cls(
            trade_id=int(item["a"]),
            price=float(item["p"]),
            quantity=float(item["q"]),
            first_trade_id=int(item["f"]),
            last_trade_id=int(item["l"]),
            time=int(item["T"]),
            is_buyer_maker=bool(item["m"]),
        )


class FundingRate(BaseModel):
    """A futures funding-rate event, identified by (symbol, funding_time)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    funding_time: EpochMs
    funding_rate: FiniteFloat
    mark_price: Price | None = None

    @classmethod
    def from_binance(cls, item: dict[str, Any]) -> FundingRate:
        """Parse a Binance fundingRate item (``fundingTime fundingRate markPrice``)."""
        mark = item.get("markPrice")
        return cls(
            funding_time=int(item["fundingTime"]),
            funding_rate=float(item["fundingRate"]),
            mark_price=float(mark) if mark not in (None, "") else None,
        )


class WriteResult(BaseModel):
    """Outcome of a bulk, idempotent upsert."""

    received: int
    inserted: int
    updated: int


class Gap(BaseModel):
    """A run of missing candles: open times ``start`` to ``end`` inclusive."""

    start: int
    end: int
    missing: int


class Coverage(BaseModel):
    """What is stored for one market+symbol+interval inside a range, and what is missing."""

    market: Market = DEFAULT_MARKET
    symbol: str
    interval: Interval
    start: int | None
    end: int | None
    first_open_time: int | None
    last_open_time: int | None
    count: int
    expected: int | None
    gaps: list[Gap]
