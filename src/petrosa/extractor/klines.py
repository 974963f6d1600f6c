"""Kline extraction for one symbol+interval: incremental, then gap repair, page by page.

1. Ask the Data Manager for the newest stored candle and fetch only what is missing inside
   the lookback window, up to the last closed candle.
2. Ask for the window's coverage and fetch each missing run (gaps from earlier failures,
   deletions, or a run killed midway).
Every page is written as soon as it arrives, so a killed run leaves a clean prefix.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from petrosa.contracts import Interval, Market
from petrosa.extractor.outcome import SeriesOutcome
from petrosa.extractor.sources import MarketSource, MarketStore

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class KlineWindow:
    """Open times ``start <= t < end`` of candles the run is responsible for (all closed)."""

    start: int
    end: int

    @classmethod
    def ending_at(cls, interval: Interval, *, until_ms: int, lookback_ms: int) -> KlineWindow:
        end = interval.floor(until_ms)  # candles opening before this have closed by until_ms
        return cls(start=interval.floor(end - lookback_ms), end=end)


async def extract_klines(
    symbol: str,
    interval: Interval,
    window: KlineWindow,
    *,
    source: MarketSource,
    store: MarketStore,
    market: Market,
    dry_run: bool = False,
    on_fetched: ProgressCallback | None = None,
) -> SeriesOutcome:
    """Extract one series of ``market``; ``source`` must be that market's exchange client."""
    outcome = SeriesOutcome("klines", symbol, interval.value, market=market)
    started = time.perf_counter()
    step = interval.milliseconds
    assert step is not None  # the command refuses calendar months

    async def copy(first: int, end: int) -> None:
        async for page in source.iter_klines(symbol, interval, first, end):
            closed = [k for k in page if window.start <= k.open_time < window.end]
            outcome.fetched += len(closed)
            if on_fetched is not None:
                on_fetched(len(closed))
            if closed and not dry_run:
                result = await store.insert_klines(symbol, interval, closed, market=market)
                outcome.written += result.inserted + result.updated
                newest = max(k.open_time for k in closed)
                outcome.last_open_time = max(outcome.last_open_time or newest, newest)

    latest = await store.get_latest_kline(symbol, interval, market=market)
    if latest is not None:
        outcome.last_open_time = latest.open_time
    resume = window.start
    if latest is not None and latest.open_time >= window.start:
        resume = min(latest.open_time + step, window.end)
    if resume < window.end:
        await copy(resume, window.end)

    # In a dry run nothing new was stored, so only the part stored before can be checked.
    checked_end = resume if dry_run else window.end
    if checked_end > window.start:
        coverage = await store.get_coverage(
            symbol, interval, start=window.start, end=checked_end, market=market
        )
        outcome.gaps_found = len(coverage.gaps)
        for gap in coverage.gaps:
            await copy(gap.start, gap.end + step)  # gap.end is the last missing open time
        if coverage.gaps and not dry_run:
            after = await store.get_coverage(
                symbol, interval, start=window.start, end=window.end, market=market
            )
            outcome.gaps_filled = outcome.gaps_found - len(after.gaps)
            if after.gaps:
                missing = sum(g.missing for g in after.gaps)
                outcome.notes.append(f"{missing} candles missing at the exchange too")
    outcome.duration_s = time.perf_counter() - started
    return outcome
