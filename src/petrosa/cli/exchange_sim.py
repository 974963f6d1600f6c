"""``petrosa exchange-sim serve``: the local stand-in for Binance's REST API and WebSocket
market streams.

The server itself, with the streams' keep-alive pings, is ``exchange.simulator.ws.server``.
"""

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
    ws_max_lifetime_s: Annotated[
        float | None, typer.Option(help="Stream connection lifetime, s (default 86400)")
    ] = None,
    ws_ping_interval_s: Annotated[
        float | None, typer.Option(help="Seconds between stream pings (default 20)")
    ] = None,
    ws_pong_timeout_s: Annotated[
        float | None, typer.Option(help="Seconds to wait for a pong (default 60)")
    ] = None,
    ws_firehose_rate: Annotated[
        int | None, typer.Option(help="Firehose: synthetic events/s per stream (0: off)")
    ] = None,
    ws_firehose_streams: Annotated[
        str | None, typer.Option(help="Firehose stream types (default aggTrade,trade,bookTicker)")
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            help="Start a scenario with the server: name:SYMBOL[:market], repeatable "
            "(iceberg, spread_blowout, imbalance, buy_burst, funding_extreme)"
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Serve Binance's market-data REST API and WebSocket streams over a synthetic market.

    Every option can also be set with an ``EXCHANGE_SIM_<NAME>`` environment variable.
    """
    from pydantic import ValidationError

    from petrosa.exchange.simulator import SimulatorSettings
    from petrosa.exchange.simulator.ws.server import run_server

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
        "ws_max_lifetime_s": ws_max_lifetime_s,
        "ws_ping_interval_s": ws_ping_interval_s,
        "ws_pong_timeout_s": ws_pong_timeout_s,
        "ws_firehose_rate": ws_firehose_rate,
        "ws_firehose_streams": ws_firehose_streams,
        "scenarios": scenario or None,
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
    if settings.ws_firehose_rate:
        kinds = ",".join(settings.ws_firehose_streams)
        typer.echo(f"firehose: {settings.ws_firehose_rate} events/s per {kinds} stream", err=True)
    for wanted in settings.scenarios:
        typer.echo(
            f"scenario: {wanted.name.value} on {wanted.market_kind.value} {wanted.symbol}", err=True
        )
    run_server(settings, log_level=log_level)


def _first_problem(error: Any) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem.get("loc", ())) or "settings"
    return f"{where}: {problem.get('msg', 'invalid value')}"
