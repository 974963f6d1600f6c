"""``petrosa backfill archive DIR``: import Binance public-archive kline files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from petrosa.cli.logs import configure_logging
from petrosa.contracts import Market
from petrosa.extractor.archive import ImportReport

app = typer.Typer(no_args_is_help=True, help="Import historical market data.")


@app.command()
def archive(
    directory: Annotated[
        Path, typer.Argument(help="Folder with <SYMBOL>-<interval>-<date>.zip files")
    ],
    market: Annotated[
        Market, typer.Option(help="Market the files belong to: spot or futures (USD-M)")
    ] = Market.FUTURES,
    log_level: Annotated[str, typer.Option(help="Log level")] = "warning",
) -> None:
    """Verify (.CHECKSUM), parse (header or not, ms or µs) and upsert every kline archive."""
    from petrosa.client import DataManagerClient, DataManagerError
    from petrosa.extractor.archive import import_archives

    configure_logging(log_level)
    if not directory.is_dir():
        typer.echo(f"error: {directory} is not a directory", err=True)
        raise typer.Exit(2)

    async def run() -> list[ImportReport]:
        async with DataManagerClient() as store:
            return await import_archives(directory, store, market=market)

    try:
        reports = asyncio.run(run())
    except DataManagerError as error:
        typer.echo(f"error: data manager: {error}", err=True)
        raise typer.Exit(1) from None
    Console().print(_table(reports))
    if not reports:
        typer.echo(f"error: no .zip files found under {directory}", err=True)
        raise typer.Exit(1)
    if any(r.status == "rejected" for r in reports):
        raise typer.Exit(1)


def _table(reports: list[ImportReport]) -> Table:
    table = Table(title="archive import")
    for column in ("file", "symbol", "interval", "rows", "written", "status", "detail"):
        table.add_column(column, justify="right" if column in ("rows", "written") else "left")
    for r in reports:
        status = {"imported": "[green]imported[/]", "rejected": "[red]rejected[/]"}.get(
            r.status, r.status
        )
        table.add_row(r.file, r.symbol, r.interval, str(r.rows), str(r.written), status, r.detail)
    return table
