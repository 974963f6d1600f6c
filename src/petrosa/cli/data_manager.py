"""``petrosa data-manager serve | migrate``."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from petrosa.cli.errors import usage_error
from petrosa.cli.logs import configure_logging

app = typer.Typer(no_args_is_help=True, help="The Data Manager service (the only DB client).")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000)")] = None,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Serve the Data Manager HTTP API (migrates the database first)."""
    import uvicorn
    from pydantic import ValidationError

    from petrosa.datamanager.app import create_app
    from petrosa.datamanager.settings import DataManagerSettings
    from petrosa.datamanager.storage.urls import UnsupportedDatabaseURL, async_url
    from petrosa.webauth import is_loopback

    configure_logging(log_level)
    try:
        settings = DataManagerSettings()
        async_url(settings.database_url.get_secret_value())
    except (ValidationError, UnsupportedDatabaseURL) as error:
        raise usage_error(str(error).splitlines()[0]) from None
    bind_host = host or settings.host
    bind_port = port or settings.port
    insecure = not settings.auth_enabled and not is_loopback(bind_host)
    if insecure and not settings.allow_insecure_bind:
        raise usage_error(
            f"refusing to serve on {bind_host} without tokens: set DATA_MANAGER_WRITE_TOKENS"
            " (and DATA_MANAGER_READ_TOKENS), or DATA_MANAGER_ALLOW_INSECURE_BIND=1"
        )
    uvicorn.run(
        create_app(settings),
        host=bind_host,
        port=bind_port,
        log_level=log_level,
        access_log=False,
        log_config=None,
    )


@app.command()
def migrate(log_level: Annotated[str, typer.Option(help="Log level")] = "info") -> None:
    """Apply database migrations up to the newest revision, then exit."""
    from petrosa.datamanager.settings import DataManagerSettings
    from petrosa.datamanager.storage.database import Database, StoreUnavailable
    from petrosa.datamanager.storage.migrate import current_revision, upgrade_to_head
    from petrosa.datamanager.storage.urls import UnsupportedDatabaseURL

    configure_logging(log_level)

    async def run() -> str | None:
        db = Database(DataManagerSettings())
        try:
            await upgrade_to_head(db)
            return await current_revision(db)
        finally:
            await db.dispose()

    try:
        revision = asyncio.run(run())
    except (UnsupportedDatabaseURL, StoreUnavailable, OSError) as error:
        raise usage_error(str(error)) from None
    typer.echo(f"database at revision {revision}")
