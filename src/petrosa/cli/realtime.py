"""``petrosa realtime serve``."""

from __future__ import annotations

from typing import Annotated

import typer

from petrosa.cli.errors import usage_error
from petrosa.cli.logs import configure_logging

app = typer.Typer(no_args_is_help=True, help="Realtime strategies (order book, trade flow).")

_LIST = "comma-separated; overrides the environment"


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8030)")] = None,
    markets: Annotated[str | None, typer.Option(help=f"spot, futures ({_LIST})")] = None,
    symbols: Annotated[str | None, typer.Option(help=f"Uppercase symbols ({_LIST})")] = None,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Own symbols through coordination leases, evaluate their streams, publish signals."""
    from pydantic import ValidationError

    from petrosa.cli.serving import first_field_error, run_app
    from petrosa.realtime.service.api import create_app
    from petrosa.realtime.service.settings import RealtimeSettings

    configure_logging(log_level)
    overrides = {
        name: value for name, value in (("markets", markets), ("symbols", symbols)) if value
    }
    try:
        settings = RealtimeSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise usage_error(first_field_error(error)) from None
    app_ = create_app(settings)
    run_app(app_, host=host or settings.host, port=port or settings.port, log_level=log_level)
