"""Wiring of one extractor run: one exchange client, one Data Manager client, one bus."""

from __future__ import annotations

import logging
import time

from petrosa.bus import BusUnavailable, bus_from_settings
from petrosa.client import DataManagerClient, DataManagerError
from petrosa.exchange.binance import BinanceClient, BinanceError, IPBannedError
from petrosa.extractor.events import EventOutbox
from petrosa.extractor.history import extract_funding, extract_trades
from petrosa.extractor.klines import KlineWindow, ProgressCallback, extract_klines
from petrosa.extractor.outcome import SeriesOutcome, one_line
from petrosa.extractor.request import Dataset, JobRequest
from petrosa.extractor.runner import Progress, SymbolJob, run_jobs
from petrosa.extractor.sources import MarketSource, MarketStore

log = logging.getLogger(__name__)

EXPECTED_FAILURES: tuple[type[BaseException], ...] = (BinanceError, DataManagerError)
"""The exchange or the Data Manager said no: reported in one line. Anything else is a
defect and is logged with its traceback."""


class JobSetupError(Exception):
    """The run could not start (Data Manager, exchange or bus unreachable); one line."""


async def run_extraction(request: JobRequest, progress: Progress) -> list[SeriesOutcome]:
    """Run the job for every symbol; per-symbol failures and undelivered events are in the
    outcomes."""
    deadline = time.monotonic() + request.deadline_s
    try:
        bus = await bus_from_settings()
    except BusUnavailable as error:
        raise JobSetupError(f"message bus: {error}") from None
    outbox = None if request.dry_run else EventOutbox(bus, deadline=deadline)
    try:
        async with BinanceClient(request.market) as exchange, DataManagerClient() as store:
            source: MarketSource = exchange
            try:
                now = await source.server_time()
                # Adopts the weight limit the exchange publishes (a simulator's may be tiny).
                await exchange.exchange_info()
            except Exception as error:
                raise _setup_error("exchange unreachable", error) from None
            until = now if request.until_ms is None else min(request.until_ms, now)
            jobs = [_job(request, symbol, until, source, store) for symbol in request.symbols]
            try:
                return await run_jobs(
                    jobs,
                    concurrency=request.concurrency,
                    progress=progress,
                    outbox=outbox,
                    fatal=(IPBannedError,),
                    expected=EXPECTED_FAILURES,
                )
            except IPBannedError as error:
                raise JobSetupError(f"stopped: the exchange banned this IP: {error}") from None
    except DataManagerError as error:
        raise JobSetupError(f"data manager: {one_line(error)}") from None
    finally:
        if outbox is not None:
            await outbox.finish()
        await bus.close()


def _setup_error(what: str, error: Exception) -> JobSetupError:
    """One line for the user; the traceback too in the log when the error is a defect."""
    if not isinstance(error, (*EXPECTED_FAILURES, OSError)):
        log.error("%s: unexpected error", what, exc_info=error)
    return JobSetupError(f"{what}: {one_line(error)}")


def _job(
    request: JobRequest, symbol: str, until: int, source: MarketSource, store: MarketStore
) -> SymbolJob:
    start = until - request.lookback_ms
    if request.dataset is Dataset.KLINES:
        interval = request.interval
        assert interval is not None
        window = KlineWindow.ending_at(interval, until_ms=until, lookback_ms=request.lookback_ms)

        async def klines(on_fetched: ProgressCallback) -> SeriesOutcome:
            return await extract_klines(
                symbol, interval, window, source=source, store=store, market=request.market,
                dry_run=request.dry_run, on_fetched=on_fetched,
            )  # fmt: skip

        return SymbolJob(symbol, interval.value, "klines", klines, request.market)
    if request.dataset is Dataset.TRADES:

        async def trades(on_fetched: ProgressCallback) -> SeriesOutcome:
            return await extract_trades(
                symbol, start=start, end=until, source=source, store=store,
                market=request.market, dry_run=request.dry_run, on_fetched=on_fetched,
            )  # fmt: skip

        return SymbolJob(symbol, None, "trades", trades, request.market)

    async def funding(on_fetched: ProgressCallback) -> SeriesOutcome:
        return await extract_funding(
            symbol, start=start, end=until, source=source, store=store,
            dry_run=request.dry_run, on_fetched=on_fetched,
        )  # fmt: skip

    return SymbolJob(symbol, None, "funding", funding)
