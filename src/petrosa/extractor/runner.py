"""Run one job per symbol concurrently, hand each completion to the event outbox, report
progress.

The exchange client's shared weight budget is what keeps the parallel symbols polite; the
semaphore only bounds how many are in flight. One symbol's failure never stops the others:
an ``expected`` error (the exchange or the Data Manager said no) is logged in one line, any
other exception with its traceback, since it is a defect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from petrosa.contracts.market import DEFAULT_MARKET, Market
from petrosa.extractor.klines import ProgressCallback
from petrosa.extractor.outcome import SeriesOutcome, one_line

if TYPE_CHECKING:  # the bus (nats) is needed to run jobs, not to render their progress
    from petrosa.extractor.events import EventOutbox

log = logging.getLogger(__name__)

Job = Callable[[ProgressCallback], Awaitable[SeriesOutcome]]


class Progress:
    """Receives progress; the CLI renders it with rich on a terminal or as log lines."""

    def started(self, label: str) -> None: ...

    def advanced(self, label: str, records: int) -> None: ...

    def finished(self, outcome: SeriesOutcome) -> None: ...


@dataclass(frozen=True)
class SymbolJob:
    symbol: str
    interval: str | None
    dataset: str
    run: Job
    market: Market = DEFAULT_MARKET

    @property
    def label(self) -> str:
        return self.symbol if self.interval is None else f"{self.symbol} {self.interval}"


async def run_jobs(
    jobs: Sequence[SymbolJob],
    *,
    concurrency: int,
    progress: Progress,
    outbox: EventOutbox | None,
    fatal: tuple[type[BaseException], ...] = (),
    expected: tuple[type[BaseException], ...] = (),
) -> list[SeriesOutcome]:
    """Every job's outcome, in the order given; each goes to ``outbox`` (None: no events).

    An exception in ``fatal`` stops them all.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(job: SymbolJob) -> SeriesOutcome:
        async with gate:
            progress.started(job.label)
            started = time.perf_counter()
            try:
                outcome = await job.run(lambda n: progress.advanced(job.label, n))
            except fatal:
                raise
            except Exception as error:  # one symbol's failure must not stop the others
                outcome = SeriesOutcome(
                    job.dataset, job.symbol, job.interval, error=one_line(error), market=job.market
                )
                outcome.duration_s = time.perf_counter() - started
                if isinstance(error, expected):
                    log.warning("%s failed: %s", job.label, outcome.error)
                else:
                    log.error("%s failed: %s", job.label, outcome.error, exc_info=error)
            if outbox is not None:
                outbox.submit(outcome)
            progress.finished(outcome)
            return outcome

    try:
        async with asyncio.TaskGroup() as group:  # a fatal error cancels the rest
            tasks = [group.create_task(one(job)) for job in jobs]
    except* fatal as errors:
        raise errors.exceptions[0] from None
    return [task.result() for task in tasks]
