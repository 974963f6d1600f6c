"""Trades and funding rates: incremental by their natural key, page by page.

Pages arrive in key order and each is written before the next is fetched, so what is stored
is always a prefix of the exchange's history: resuming after the newest stored key (trade id,
funding time) can leave no hole, even after a run killed midway.
"""

from __future__ import annotations

import time

from petrosa.extractor.klines import ProgressCallback
from petrosa.extractor.outcome import SeriesOutcome
from petrosa.extractor.sources import MarketSource, MarketStore


async def extract_trades(
    symbol: str,
    *,
    start: int,
    end: int,
    source: MarketSource,
    store: MarketStore,
    dry_run: bool = False,
    on_fetched: ProgressCallback | None = None,
) -> SeriesOutcome:
    outcome = SeriesOutcome("trades", symbol, None)
    started = time.perf_counter()
    latest = await store.get_trades(symbol, limit=1)
    from_id = latest[0].trade_id + 1 if latest and latest[0].time >= start else None
    pages = source.iter_agg_trades(
        symbol, None if from_id is not None else start, end, from_id=from_id
    )
    async for page in pages:
        trades = [t for t in page if t.time < end]
        outcome.fetched += len(trades)
        if on_fetched is not None:
            on_fetched(len(trades))
        if trades and not dry_run:
            result = await store.insert_trades(symbol, trades)
            outcome.written += result.inserted + result.updated
    outcome.duration_s = time.perf_counter() - started
    return outcome


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
    outcome = SeriesOutcome("funding", symbol, None)
    started = time.perf_counter()
    latest = await store.get_funding_rates(symbol, limit=1)
    if latest and latest[0].funding_time >= start:
        start = latest[0].funding_time + 1
    if start < end:
        async for page in source.iter_funding_rates(symbol, start, end):
            rates = [r for r in page if start <= r.funding_time < end]
            outcome.fetched += len(rates)
            if on_fetched is not None:
                on_fetched(len(rates))
            if rates and not dry_run:
                result = await store.insert_funding_rates(symbol, rates)
                outcome.written += result.inserted + result.updated
    outcome.duration_s = time.perf_counter() - started
    return outcome
