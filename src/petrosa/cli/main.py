"""``petrosa`` — one command for every service and job."""

from __future__ import annotations

import typer

from petrosa.cli import backfill, data_manager

app = typer.Typer(
    no_args_is_help=True, help="petrosa crypto-trading platform", add_completion=False
)
app.add_typer(data_manager.app, name="data-manager")
app.add_typer(backfill.app, name="backfill")

if __name__ == "__main__":
    app()
