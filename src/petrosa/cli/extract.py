"""``petrosa extract klines | trades | funding``: incremental market-data jobs."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Annotated

import typer
from rich.console import Console

from petrosa.cli.errors import usage_error
from petrosa.cli.logs import configure_logging
from petrosa.cli.progress import LogProgress, TerminalProgress, is_terminal, summary_table
from petrosa.contracts import Interval, Market
from petrosa.extractor.jobs import Dataset, JobRequest, JobSetupError, run_extraction
from petrosa.extractor.outcome import SeriesOutcome
from petrosa.extractor.settings import DEFAULT_CONCURRENCY, ExtractorSettings

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


def _symbols(raw: str | None) -> list[str]:
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


def _run(request: JobRequest, log_level: str) -> None:
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
        raise typer.Exit(1) from None
    _report(outcomes, dry_run=request.dry_run)


def _report(outcomes: list[SeriesOutcome], *, dry_run: bool) -> None:
    Console(width=160).print(summary_table(outcomes, dry_run=dry_run))
    failed = [o for o in outcomes if not o.success]
    for outcome in failed:
        typer.echo(f"error: {outcome.symbol}: {outcome.error}", err=True)
    if failed:
        raise typer.Exit(1)


@app.command()
def klines(
    interval: Annotated[Interval, typer.Option(help="Kline interval, Binance spelling")],
    symbols: SymbolsOption = None,
    lookback_hours: LookbackOption = 24.0,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    until: UntilOption = None,
    dry_run: DryRunOption = False,
    market: MarketOption = "futures",
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Klines: only what is missing in the window, up to the last closed candle; gaps filled."""
    if interval.milliseconds is None:
        raise usage_error(
            "1M (calendar month) has no fixed length: import it with backfill archive"
        )
    request = _request(Dataset.KLINES, symbols, lookback_hours, concurrency, until, dry_run, market)
    _run(request.with_interval(interval), log_level)


@app.command()
def trades(
    symbols: SymbolsOption = None,
    lookback_hours: LookbackOption = 1.0,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    until: UntilOption = None,
    dry_run: DryRunOption = False,
    market: MarketOption = "futures",
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Aggregate trades after the newest stored trade id (the lookback applies to a first run)."""
    _run(
        _request(Dataset.TRADES, symbols, lookback_hours, concurrency, until, dry_run, market),
        log_level,
    )


@app.command()
def funding(
    symbols: SymbolsOption = None,
    lookback_hours: LookbackOption = 24.0 * 30,
    concurrency: ConcurrencyOption = DEFAULT_CONCURRENCY,
    until: UntilOption = None,
    dry_run: DryRunOption = False,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """USD-M funding rates after the newest stored funding time."""
    _run(
        _request(Dataset.FUNDING, symbols, lookback_hours, concurrency, until, dry_run, "futures"),
        log_level,
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
