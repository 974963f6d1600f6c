"""``petrosa tabot strategies``: the candle strategy catalogue and its settings."""

from __future__ import annotations

from typing import Annotated, Any

import typer

app = typer.Typer(no_args_is_help=True, help="The TA bot (candle strategies → signals).")


@app.command()
def strategies(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document")] = False,
) -> None:
    """List every candle strategy: id, version, sides, timeframes, warm-up and parameters."""
    import orjson

    from petrosa.tabot import CATALOGUE

    listing = [_describe(strategy) for strategy in CATALOGUE]
    if as_json:
        typer.echo(orjson.dumps(listing, option=orjson.OPT_INDENT_2).decode())
        return
    from rich.console import Console

    Console(width=200).print(_table(listing))


def _describe(strategy: Any) -> dict[str, Any]:
    defaults = strategy.defaults
    parameters = defaults.model_dump(mode="json")
    timeframes = parameters.pop("timeframes")
    return {
        "id": strategy.id,
        "version": strategy.version,
        "sides": [side.action for side in strategy.sides],
        "timeframes": "all" if timeframes is None else timeframes,
        "warm_up": strategy.warm_up(),
        "rows_needed": strategy.rows_needed(),
        "higher_timeframe_warm_up": strategy.higher_warm_up(),
        "summary": strategy.summary,
        "parameters": parameters,
    }


def _table(listing: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title=f"{len(listing)} candle strategies")
    for column in ("id", "version", "sides", "timeframes", "warm-up", "parameters"):
        table.add_column(column, justify="right" if column in ("version", "warm-up") else "left")
    for entry in listing:
        timeframes = entry["timeframes"]
        parameters = {k: v for k, v in entry["parameters"].items() if k != "bounds"}
        table.add_row(
            entry["id"],
            str(entry["version"]),
            "/".join(entry["sides"]),
            timeframes if isinstance(timeframes, str) else " ".join(timeframes),
            str(entry["warm_up"]),
            ", ".join(f"{k}={v}" for k, v in parameters.items()),
        )
    return table


# `petrosa tabot backtest` (issue 10 §3) lives in its own module ------------------------
def _add_backtest() -> None:
    from petrosa.cli.tabot_backtest import backtest

    app.command(name="backtest")(backtest)


_add_backtest()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8020)")] = None,
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Serve the TA bot: triggers from NATS (NATS_URL), candles and configuration from the
    Data Manager (DATA_MANAGER_URL), signals to signals.trading; health and metrics on HTTP."""
    from pydantic import ValidationError

    from petrosa.cli.errors import usage_error
    from petrosa.cli.logs import configure_logging
    from petrosa.cli.serving import refuse_open_bind, run_app
    from petrosa.tabot.service import TabotSettings, create_app
    from petrosa.webauth import BearerTokens

    configure_logging(log_level)
    try:
        settings = TabotSettings()
    except ValidationError as error:
        raise usage_error(str(error).splitlines()[0]) from None
    bind_host = host or settings.host
    tokens = BearerTokens.from_settings(settings.read_tokens, settings.write_tokens)
    refuse_open_bind(
        bind_host,
        auth_enabled=tokens.enabled,
        allow_insecure_bind=settings.allow_insecure_bind,
        env_prefix="TABOT",
    )
    # On SIGINT/SIGTERM the app's shutdown runs: consumers stop fetching (messages in hand
    # are redelivered), NATS and the client are closed.
    run_app(create_app(settings), host=bind_host, port=port or settings.port, log_level=log_level)
