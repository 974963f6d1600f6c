"""``petrosa data-manager serve | migrate``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from petrosa.cli.errors import usage_error
from petrosa.cli.logs import configure_logging

if TYPE_CHECKING:
    from petrosa.datamanager.settings import DataManagerSettings

app = typer.Typer(no_args_is_help=True, help="The Data Manager service (the only DB client).")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000)")] = None,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Serve the Data Manager HTTP API (migrates the database first, as ``migrate`` does)."""
    from pydantic import ValidationError

    from petrosa.cli.serving import refuse_open_bind, run_app
    from petrosa.datamanager.app import create_app
    from petrosa.datamanager.settings import DataManagerSettings
    from petrosa.datamanager.storage.urls import UnsupportedDatabaseURL, async_url

    configure_logging(log_level)
    try:
        settings = DataManagerSettings()
        async_url(settings.database_url.get_secret_value())
    except (ValidationError, UnsupportedDatabaseURL) as error:
        raise usage_error(str(error).splitlines()[0]) from None
    bind_host = host or settings.host
    bind_port = port or settings.port
    refuse_open_bind(
        bind_host,
        auth_enabled=settings.auth_enabled,
        allow_insecure_bind=settings.allow_insecure_bind,
        env_prefix="DATA_MANAGER",
    )
    if settings.migrate_on_start:
        # Here rather than in the app's start-up: a migration that cannot run (the lock held
        # elsewhere, the database down) ends the command with one line and exit 2, as
        # ``migrate`` does, instead of a start-up traceback and uvicorn's exit 3.
        _migrate_or_exit(settings)
        settings = settings.model_copy(update={"migrate_on_start": False})
    run_app(create_app(settings), host=bind_host, port=bind_port, log_level=log_level)


@app.command()
def migrate(log_level: Annotated[str, typer.Option(help="Log level")] = "info") -> None:
    """Apply database migrations up to the newest revision, then exit."""
    # Imported before logging is configured, as ``serve`` does: alembic logs as it loads.
    import petrosa.datamanager.storage.migrate  # noqa: F401
    from petrosa.datamanager.settings import DataManagerSettings

    configure_logging(log_level)
    revision = _migrate_or_exit(DataManagerSettings())
    typer.echo(f"database at revision {revision}")


def _migrate_or_exit(settings: DataManagerSettings) -> str | None:
    """Migrate to the newest revision and return it; what stops that (the migration lock
    held elsewhere, the database unreachable) ends the command: one line, exit 2."""
    from petrosa.datamanager.storage.database import Database, StoreUnavailable
    from petrosa.datamanager.storage.migrate import current_revision, upgrade_to_head
    from petrosa.datamanager.storage.urls import UnsupportedDatabaseURL

    async def run() -> str | None:
        db = Database(settings)
        try:
            await upgrade_to_head(db)
            return await current_revision(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except (UnsupportedDatabaseURL, StoreUnavailable, OSError) as error:
        raise usage_error(str(error)) from None
