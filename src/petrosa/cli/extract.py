"""``petrosa extract klines | trades | funding``: incremental market-data jobs.

Exit codes: 0 every series written and its event delivered; 1 a series failed (or the job
could not start); 2 bad arguments; 3 every series written but some completion events were
not delivered before the deadline (the summary names them).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import re
from typing import Annotated

import typer
from rich.console import Console

from petrosa.cli.errors import usage_error
from petrosa.cli.logs import configure_logging
from petrosa.cli.progress import LogProgress, TerminalProgress, is_terminal, summary_table
from petrosa.contracts import Interval, Market
from petrosa.extractor.outcome import EventState, SeriesOutcome, event_fields
from petrosa.extractor.request import DEFAULT_CONCURRENCY, Dataset, JobRequest

log = logging.getLogger("petrosa.jobs")

EXIT_OK = 0
EXIT_DATA_FAILED = 1
EXIT_EVENTS_UNDELIVERED = 3

app = typer.Typer(
    no_args_is_help=True, help="Extract market data from Binance into the Data Manager."
)

SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")
HOUR_MS = 3_600_000

SymbolsOption = Annotated[
    str | None,
    typer.Option(help="Comma-separated, e.g. BTCUSDT,ETHUSDT (default: DEFAULT_SYMBOLS)"),
]
LookbackOption = Annotated[float, typer.Option(help="How far back the window reaches", min=0.01)]
ConcurrencyOption = Annotated[int, typer.Option(help="Symbols in flight at once", min=1, max=100)]
UntilOption = Annotated[
    str | None, typer.Option(help="Window end: ISO-8601 UTC or epoch ms (default: now)")
]
DryRunOption = Annotated[bool, typer.Option(help="Fetch and validate, write nothing")]
MarketOption = Annotated[
    str, typer.Option(help="spot or futures (USD-M); stored apart, never mixed")
]
DeadlineOption = Annotated[
    float | None,
    typer.Option(
        help="Seconds from the start to retry undelivered events (default EXTRACTOR_DEADLINE_S,"
        " 270)",
        min=0.1,
    ),
]


def _symbols(raw: str | None) -> list[str]:
    from petrosa.extractor.settings import ExtractorSettings

    symbols = (
        [s.strip().upper() for s in raw.split(",") if s.strip()]
        if raw is not None
        else list(ExtractorSettings().default_symbols)
    )
    bad = [s for s in symbols if not SYMBOL.fullmatch(s)]
    if bad:
        raise usage_error(f"malformed symbol {bad[0]!r}: expected e.g. BTCUSDT")
    if not symbols:
        raise usage_error("no symbols: pass --symbols or set DEFAULT_SYMBOLS")
    return list(dict.fromkeys(symbols))


def _until(raw: str | None) -> int | None:
    if raw is None:
        return None
    if raw.isdigit():
        return int(raw)
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise usage_error(f"--until {raw!r} is neither ISO-8601 nor epoch milliseconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def _run(request: JobRequest, log_level: str, deadline_s: float | None) -> None:
    from petrosa.extractor.jobs import JobSetupError, run_extraction
    from petrosa.extractor.settings import ExtractorSettings

    if deadline_s is None:
        deadline_s = ExtractorSettings().extractor_deadline_s
    request = dataclasses.replace(request, deadline_s=deadline_s)
    configure_logging(log_level)
    labels = [
        s if request.interval is None else f"{s} {request.interval.value}" for s in request.symbols
    ]
    try:
        if is_terminal():
            with TerminalProgress(labels) as progress:
                outcomes = asyncio.run(run_extraction(request, progress))
        else:
            with LogProgress() as log_progress:
                outcomes = asyncio.run(run_extraction(request, log_progress))
    except JobSetupError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_DATA_FAILED) from None
    code = _report(outcomes, dry_run=request.dry_run)
    if code != EXIT_OK:
        raise typer.Exit(code)


def _report(outcomes: list[SeriesOutcome], *, dry_run: bool) -> int:
    """Print the summary table, one ``error:`` line per problem, log the summary; the exit
    code."""
    Console(width=160).print(summary_table(outcomes, dry_run=dry_run))
    failed = [o for o in outcomes if not o.success]
    undelivered = [o for o in outcomes if o.event_state is EventState.UNDELIVERED]
    for outcome in failed:
        typer.echo(f"error: {outcome.symbol}: {outcome.error}", err=True)
    for outcome in undelivered:
        typer.echo(
            f"error: {outcome.label} ({outcome.market}): completion event not delivered"
            f" (attempts: {outcome.event_attempts}): {outcome.event_error}",
            err=True,
        )
    code = EXIT_DATA_FAILED if failed else EXIT_EVENTS_UNDELIVERED if undelivered else EXIT_OK
    log.log(
        logging.INFO if code == EXIT_OK else logging.ERROR,
        "extraction summary",
        extra={
            "fields": {
                "series": len(outcomes),
                "failed": [{"series": o.label, "error": o.error} for o in failed],
                "events_delivered": sum(o.event_state is EventState.DELIVERED for o in outcomes),
                "undelivered_events": [event_fields(o) for o in undelivered],
                "exit_code": code,
            }
        },
    )
    return code


@app.command()
def klines(
    interval: Annotated[Interval, typer.Option(help="Kline interval, Binance spelling")],
    symbols: SymbolsOption = None,
    lookback_hours: LookbackOption = 24.0,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    until: UntilOption = None,
    dry_run: DryRunOption = False,
    market: MarketOption = "futures",
    deadline_s: DeadlineOption = None,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Klines: only what is missing in the window, up to the last closed candle; gaps filled."""
    if interval.milliseconds is None:
        raise usage_error(
            "1M (calendar month) has no fixed length: import it with backfill archive"
        )
    request = _request(Dataset.KLINES, symbols, lookback_hours, concurrency, until, dry_run, market)
    _run(request.with_interval(interval), log_level, deadline_s)


@app.command()
def trades(
    symbols: SymbolsOption = None,
    lookback_hours: LookbackOption = 1.0,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    until: UntilOption = None,
    dry_run: DryRunOption = False,
    market: MarketOption = "futures",
    deadline_s: DeadlineOption = None,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Aggregate trades after the newest stored trade id (the lookback applies to a first run)."""
    _run(
        _request(Dataset.TRADES, symbols, lookback_hours, concurrency, until, dry_run, market),
        log_level,
        deadline_s,
    )


@app.command()
def funding(
    symbols: SymbolsOption = None,
    lookback_hours: LookbackOption = 24.0 * 30,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    until: UntilOption = None,
    dry_run: DryRunOption = False,
    deadline_s: DeadlineOption = None,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """USD-M funding rates after the newest stored funding time."""
    _run(
        _request(Dataset.FUNDING, symbols, lookback_hours, concurrency, until, dry_run, "futures"),
        log_level,
        deadline_s,
    )


def _request(
    dataset: Dataset,
    symbols: str | None,
    lookback_hours: float,
    concurrency: int,
    until: str | None,
    dry_run: bool,
    market: str,
) -> JobRequest:
    if market not in tuple(Market):
        raise usage_error(f"--market must be spot or futures, not {market!r}")
    return JobRequest(
        dataset=dataset,
        symbols=_symbols(symbols),
        lookback_ms=int(lookback_hours * HOUR_MS),
        concurrency=concurrency,
        until_ms=_until(until),
        dry_run=dry_run,
        market=Market(market),
    )
