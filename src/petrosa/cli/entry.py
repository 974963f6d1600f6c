"""The ``petrosa`` executable: runs the command, or says in one line which extra to install.

Each service's dependencies come with its extra (``pip install 'petrosa[datamanager]'``);
the base install is only the client. This module imports nothing outside the standard
library at import time, so a missing extra, even the CLI's own (typer, rich), is reported as
an install hint instead of a traceback.
"""

from __future__ import annotations

import sys

EXTRA_OF_COMMAND = {
    "data-manager": "datamanager",
    "exchange-sim": "exchange",
    "extract": "extractor",
    "backfill": "extractor",
    "tradeengine": "tradeengine",
    "tabot": "tabot",
    "socket-client": "socketclient",
    "realtime": "realtime",
}
"""The extra each command group needs (each one includes the ``cli`` extra)."""
MISSING_EXTRA_EXIT_CODE = 2
"""As for any other configuration error of a command (``petrosa.cli.errors.USAGE_ERROR``)."""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    try:
        from petrosa.cli.main import app

        app(args=args, prog_name="petrosa")
    except ModuleNotFoundError as error:
        if error.name is None or error.name.partition(".")[0] == "petrosa":
            raise  # our own module missing is a broken install, not a missing extra
        command = next((arg for arg in args if not arg.startswith("-")), None)
        extra = EXTRA_OF_COMMAND.get(command or "", "cli")
        print(missing_extra_message(command, extra, error.name), file=sys.stderr)
        raise SystemExit(MISSING_EXTRA_EXIT_CODE) from None


def missing_extra_message(command: str | None, extra: str, module: str) -> str:
    what = f"petrosa {command}" if command is not None else "the petrosa command"
    return (
        f"error: {what} needs the '{extra}' extra (module {module!r} is not installed):"
        f" pip install 'petrosa[{extra}]'"
    )
