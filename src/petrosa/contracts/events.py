"""Events on the message bus."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, Field

from petrosa.contracts.market import DEFAULT_MARKET, Interval, Market


def klines_subject(symbol: str, interval: Interval | str) -> str:
    """``binance.klines.<SYMBOL>.<interval>``: extraction of that series completed.

    The subject does not name the market (it predates storing markets apart); the event's
    ``market`` field does.
    """
    return f"binance.klines.{symbol}.{interval}"


class ExtractionCompleted(BaseModel):
    """Published after each symbol+interval (or symbol, for trades and funding) of a job."""

    dataset: str = "klines"
    market: Market = DEFAULT_MARKET
    """Which market's series was extracted (funding is always futures)."""
    symbol: str
    interval: str | None
    records_fetched: int
    records_written: int
    gaps_found: int = 0
    gaps_filled: int = 0
    duration_s: float
    success: bool
    error: str | None = None
    completed_at: AwareDatetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    last_open_time: int | None = None
    """Klines: open time (epoch ms) of the newest closed candle of the series stored when the
    job ended; None when it stored none. A consumer evaluates that candle, not "the latest
    closed one by its own clock": a redelivered event then still names its own candle."""
