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
