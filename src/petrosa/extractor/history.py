"""Trades and funding rates: incremental by their natural key, page by page.

Pages arrive in key order and each is written before the next is fetched, so what is stored
is always a prefix of the exchange's history: resuming after the newest stored key (trade id,
funding time) can leave no hole, even after a run killed midway.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from petrosa.contracts import Market, WriteResult
from petrosa.extractor.klines import ProgressCallback
from petrosa.extractor.outcome import SeriesOutcome
from petrosa.extractor.sources import MarketSource, MarketStore

Row = TypeVar("Row")


async def extract_trades(
    symbol: str,
    *,
    start: int,
    end: int,
    source: MarketSource,
    store: MarketStore,
    market: Market,
    dry_run: bool = False,
    on_fetched: ProgressCallback | None = None,
) -> SeriesOutcome:
    """Trades of one symbol of ``market``; ``source`` must be that market's exchange client."""
    latest = await store.get_trades(symbol, limit=1, market=market)
    from_id = latest[0].trade_id + 1 if latest and latest[0].time >= start else None
    pages = source.iter_agg_trades(
        symbol, None if from_id is not None else start, end, from_id=from_id
    )
    return await _copy_pages(
        SeriesOutcome("trades", symbol, None, market=market),
        pages,
        keep=lambda trade: trade.time < end,
        write=lambda trades: store.insert_trades(symbol, trades, market=market),
        dry_run=dry_run,
        on_fetched=on_fetched,
    )


async def extract_funding(
    symbol: str,
    *,
    start: int,
    end: int,
    source: MarketSource,
    store: MarketStore,
    dry_run: bool = False,
    on_fetched: ProgressCallback | None = None,
) -> SeriesOutcome:
    latest = await store.get_funding_rates(symbol, limit=1)
    if latest and latest[0].funding_time >= start:
        start = latest[0].funding_time + 1
    outcome = SeriesOutcome("funding", symbol, None)
    if start >= end:
        return outcome
    return await _copy_pages(
        outcome,
        source.iter_funding_rates(symbol, start, end),
        keep=lambda rate: start <= rate.funding_time < end,
        write=lambda rates: store.insert_funding_rates(symbol, rates),
        dry_run=dry_run,
        on_fetched=on_fetched,
    )


async def _copy_pages(
    outcome: SeriesOutcome,
    pages: AsyncIterator[list[Row]],
    *,
    keep: Callable[[Row], bool],
    write: Callable[[Sequence[Row]], Awaitable[WriteResult]],
    dry_run: bool,
    on_fetched: ProgressCallback | None,
) -> SeriesOutcome:
    started = time.perf_counter()
    async for page in pages:
        rows = [row for row in page if keep(row)]
        outcome.fetched += len(rows)
        if on_fetched is not None:
            on_fetched(len(rows))
        if rows and not dry_run:
            result = await write(rows)
            outcome.written += result.inserted + result.updated
    outcome.duration_s = time.perf_counter() - started
    return outcome
