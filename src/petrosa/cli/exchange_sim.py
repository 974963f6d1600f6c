"""``petrosa exchange-sim serve``: the local stand-in for Binance's REST API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from petrosa.cli.errors import usage_error
from petrosa.cli.logs import configure_logging

app = typer.Typer(
    no_args_is_help=True, help="The local exchange simulator (Binance spot + USD-M futures)."
)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8100)")] = None,
    seed: Annotated[int | None, typer.Option(help="Market seed (default 42)")] = None,
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated symbols (default BTCUSDT,ETHUSDT,...)")
    ] = None,
    clock_start: Annotated[
        str | None, typer.Option(help="Simulated start time, ISO 8601 UTC (default: now)")
    ] = None,
    freeze_clock: Annotated[
        bool | None, typer.Option("--freeze-clock/--run-clock", help="Stop time at the start")
    ] = None,
    history_start: Annotated[
        str | None, typer.Option(help="Listing date of every symbol (default 2020-01-01)")
    ] = None,
    spot_weight_limit: Annotated[
        int | None, typer.Option(help="Spot request weight per minute (default 6000)")
    ] = None,
    futures_weight_limit: Annotated[
        int | None, typer.Option(help="Futures request weight per minute (default 2400)")
    ] = None,
    ban_tolerance: Annotated[
        int | None, typer.Option(help="Requests tolerated after a 429 before a 418 ban")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Serve Binance's market-data REST API over a deterministic synthetic market.

    Every option can also be set with an ``EXCHANGE_SIM_<NAME>`` environment variable.
    """
    import uvicorn
    from pydantic import ValidationError

    from petrosa.exchange.simulator import SimulatorSettings, create_app

    configure_logging(log_level)
    given: dict[str, Any] = {
        "host": host,
        "port": port,
        "seed": seed,
        "symbols": symbols,
        "clock_start": clock_start,
        "clock_frozen": freeze_clock,
        "history_start": history_start,
        "spot_weight_limit": spot_weight_limit,
        "futures_weight_limit": futures_weight_limit,
        "ban_tolerance": ban_tolerance,
    }
    try:
        settings = SimulatorSettings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as error:
        raise usage_error(_first_problem(error)) from None
    start = settings.clock_start or dt.datetime.now(dt.UTC)
    typer.echo(
        f"exchange simulator on http://{settings.host}:{settings.port}"
        f" (seed {settings.seed}, clock {start.isoformat()}"
        f"{', frozen' if settings.clock_frozen else ''})",
        err=True,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=False,
        log_config=None,
    )


def _first_problem(error: Any) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem.get("loc", ())) or "settings"
    return f"{where}: {problem.get('msg', 'invalid value')}"
