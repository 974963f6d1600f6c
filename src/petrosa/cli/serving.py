"""What every ``petrosa <service> serve`` shares: the refusal to open an unauthenticated
service beyond loopback, a settings error as one line, and uvicorn started the same way."""

from __future__ import annotations

from typing import Any

import uvicorn  # at import: a missing service extra is reported before any work starts
from pydantic import ValidationError

from petrosa.cli.errors import usage_error
from petrosa.webauth import is_loopback


def refuse_open_bind(
    bind_host: str, *, auth_enabled: bool, allow_insecure_bind: bool, env_prefix: str
) -> None:
    """Exit 2 with one line when ``bind_host`` is not loopback and no token protects it."""
    if auth_enabled or allow_insecure_bind or is_loopback(bind_host):
        return
    raise usage_error(
        f"refusing to serve on {bind_host} without tokens: set {env_prefix}_WRITE_TOKENS"
        f" (and {env_prefix}_READ_TOKENS), or {env_prefix}_ALLOW_INSECURE_BIND=1"
    )


def first_field_error(error: ValidationError) -> str:
    """A settings error as one line: the first offending field and why."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"


def run_app(app: Any, *, host: str, port: int, log_level: str) -> None:
    """Serve ``app`` until SIGINT/SIGTERM (uvicorn then runs the app's shutdown); logs stay
    the project's structured lines (no uvicorn log config, no access log)."""
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, log_config=None)
