"""The result of extracting one series, and the event it becomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from petrosa.contracts.events import ExtractionCompleted, klines_subject
from petrosa.contracts.market import DEFAULT_MARKET, Market


class EventState(StrEnum):
    """Where the series' ExtractionCompleted event is."""

    NOT_PUBLISHED = "not published"
    """No event for this run (a dry run)."""
    PENDING = "pending"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    """The bus never confirmed it before the job's deadline."""


@dataclass
class SeriesOutcome:
    dataset: str
    symbol: str
    interval: str | None
    fetched: int = 0
    written: int = 0
    gaps_found: int = 0
    gaps_filled: int = 0
    duration_s: float = 0.0
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    market: Market = DEFAULT_MARKET
    event_state: EventState = EventState.NOT_PUBLISHED
    event_attempts: int = 0
    event_error: str | None = None
    """Why the last delivery attempt failed (kept when a later one succeeded)."""
    last_open_time: int | None = None
    """Klines: the newest closed candle stored in the series (see ``ExtractionCompleted``)."""

    @property
    def success(self) -> bool:
        return self.error is None

    @property
    def label(self) -> str:
        return self.symbol if self.interval is None else f"{self.symbol} {self.interval}"

    def event(self) -> ExtractionCompleted:
        return ExtractionCompleted(
            dataset=self.dataset,
            market=self.market,
            symbol=self.symbol,
            interval=self.interval,
            records_fetched=self.fetched,
            records_written=self.written,
            gaps_found=self.gaps_found,
            gaps_filled=self.gaps_filled,
            duration_s=round(self.duration_s, 3),
            success=self.success,
            error=self.error,
            last_open_time=self.last_open_time,
        )


def one_line(error: BaseException) -> str:
    """An error as one readable line (no traceback)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def subject_for(outcome: SeriesOutcome) -> str:
    """Where the series' completion event is published."""
    if outcome.dataset == "klines" and outcome.interval is not None:
        return klines_subject(outcome.symbol, outcome.interval)
    return f"binance.{outcome.dataset}.{outcome.symbol}"


def event_fields(outcome: SeriesOutcome) -> dict[str, object]:
    """What logs and the summary say about one event: its series, attempts, last error."""
    return {
        "dataset": outcome.dataset,
        "symbol": outcome.symbol,
        "interval": outcome.interval,
        "market": outcome.market.value,
        "subject": subject_for(outcome),
        "attempts": outcome.event_attempts,
        "error": outcome.event_error,
    }
