"""``petrosa socket-client serve``."""

from __future__ import annotations

from typing import Annotated

import typer

from petrosa.cli.errors import usage_error
from petrosa.cli.logs import configure_logging

app = typer.Typer(no_args_is_help=True, help="The socket client (Binance WebSocket → NATS).")

_LIST = "comma-separated; overrides the environment"


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8040)")] = None,
    markets: Annotated[str | None, typer.Option(help=f"spot, futures ({_LIST})")] = None,
    symbols: Annotated[str | None, typer.Option(help=f"Uppercase symbols ({_LIST})")] = None,
    streams: Annotated[
        str | None, typer.Option(help=f"Stream types, e.g. kline_1m,aggTrade,depth ({_LIST})")
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Stream Binance's market data into NATS; health and metrics over HTTP."""
    from pydantic import ValidationError

    from petrosa.cli.serving import first_field_error, run_app
    from petrosa.socketclient.api import create_app
    from petrosa.socketclient.plan import PlanError, build_plan
    from petrosa.socketclient.settings import SocketClientSettings

    configure_logging(log_level)
    overrides = {
        name: value
        for name, value in (("markets", markets), ("symbols", symbols), ("streams", streams))
        if value is not None
    }
    try:
        settings = SocketClientSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise usage_error(first_field_error(error)) from None
    try:
        plan = build_plan(
            settings.markets, settings.symbols, settings.streams, books=settings.books
        )
    except PlanError as error:
        raise usage_error(str(error)) from None
    app_ = create_app(settings, plan)
    run_app(app_, host=host or settings.host, port=port or settings.port, log_level=log_level)
