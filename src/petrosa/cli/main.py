"""``petrosa`` — one command for every service and job."""

from __future__ import annotations

import typer

from petrosa.cli import (
    backfill,
    data_manager,
    exchange_sim,
    extract,
    realtime,
    socket_client,
    tabot,
    tradeengine,
)

app = typer.Typer(
    no_args_is_help=True, help="petrosa crypto-trading platform", add_completion=False
)
app.add_typer(data_manager.app, name="data-manager")
app.add_typer(backfill.app, name="backfill")
app.add_typer(exchange_sim.app, name="exchange-sim")
app.add_typer(extract.app, name="extract")
app.add_typer(tradeengine.app, name="tradeengine")
app.add_typer(tabot.app, name="tabot")
app.add_typer(socket_client.app, name="socket-client")
app.add_typer(realtime.app, name="realtime")

if __name__ == "__main__":
    app()
