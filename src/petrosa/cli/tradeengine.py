"""``petrosa tradeengine serve``."""

from __future__ import annotations

from typing import Annotated

import typer

from petrosa.cli.errors import usage_error
from petrosa.cli.logs import configure_logging

app = typer.Typer(no_args_is_help=True, help="The trade engine (signals → orders → positions).")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8010)")] = None,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Serve the engine: HTTP ingress and API, plus the NATS consumer when NATS_URL is set."""
    from pydantic import ValidationError

    from petrosa.cli.serving import refuse_open_bind, run_app
    from petrosa.tradeengine.api import create_app
    from petrosa.tradeengine.settings import TradeEngineSettings
    from petrosa.webauth import BearerTokens

    configure_logging(log_level)
    try:
        settings = TradeEngineSettings()
    except ValidationError as error:
        raise usage_error(str(error).splitlines()[0]) from None
    bind_host = host or settings.host
    tokens = BearerTokens.from_settings(settings.read_tokens, settings.write_tokens)
    refuse_open_bind(
        bind_host,
        auth_enabled=tokens.enabled,
        allow_insecure_bind=settings.allow_insecure_bind,
        env_prefix="TRADEENGINE",
    )
    run_app(create_app(settings), host=bind_host, port=port or settings.port, log_level=log_level)


@app.command("dead-letters")
def dead_letters(
    limit: Annotated[int, typer.Option(min=1, max=1_000, help="How many, newest first")] = 20,
) -> None:
    """List the signal messages the engine gave up on (one JSON object per line), from the
    Data Manager at DATA_MANAGER_URL."""
    import asyncio
    from typing import Any

    import orjson

    from petrosa.client import DataManagerClient, DataManagerError
    from petrosa.tradeengine.dead_letters import DeadLetters

    async def latest() -> list[dict[str, Any]]:
        async with DataManagerClient() as store:
            return await DeadLetters(store).latest(limit)

    try:
        letters = asyncio.run(latest())
    except DataManagerError as error:
        typer.echo(f"error: data manager: {error}", err=True)
        raise typer.Exit(1) from None
    for letter in letters:
        typer.echo(orjson.dumps(letter).decode())
