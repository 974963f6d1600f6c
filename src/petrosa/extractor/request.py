"""What one extractor run is asked to do (no I/O here: the CLI builds it, jobs.py runs it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from petrosa.contracts import Interval, Market

DEFAULT_CONCURRENCY = 10
DEFAULT_DEADLINE_S = 270.0
"""Below the 300 s a CronJob gives the job, so the summary is out before it is killed."""


class Dataset(StrEnum):
    KLINES = "klines"
    TRADES = "trades"
    FUNDING = "funding"


@dataclass(frozen=True)
class JobRequest:
    dataset: Dataset
    symbols: list[str]
    lookback_ms: int
    concurrency: int
    until_ms: int | None
    dry_run: bool
    market: Market
    interval: Interval | None = None
    deadline_s: float = DEFAULT_DEADLINE_S
    """From the start of the run: undelivered events are retried until then."""

    def with_interval(self, interval: Interval) -> JobRequest:
        return dataclasses.replace(self, interval=interval)
