"""How every command reports a usage or configuration error: one line, exit code 2."""

from __future__ import annotations

import typer

USAGE_ERROR = 2


def usage_error(message: str) -> typer.Exit:
    """Print ``error: <message>`` to stderr; raise the returned Exit (code 2)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=USAGE_ERROR)
