"""``petrosa tabot backtest``: the candle strategies over stored candles, with simulated fills.

Candles come from the Data Manager (``DATA_MANAGER_URL``) or, with ``--archive DIR``, from
Binance archive files (``<SYMBOL>-<interval>-<date>.zip``) parsed by the extractor's archive
reader — the command line is the one layer that may use both the TA bot and the extractor.
Exit codes: 0 done; 1 the candles could not be read; 2 bad arguments or no candles.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from petrosa.cli.errors import usage_error

if TYPE_CHECKING:
    from petrosa.contracts import Interval
    from petrosa.tabot.backtest import Chosen, StrategyResult
    from petrosa.tabot.backtest.history import History
    from petrosa.tabot.window import CandleWindow

SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")
READ_FAILED = 1


def backtest(
    strategies: Annotated[str, typer.Option(help="Comma-separated strategy ids, or 'all'")],
    symbols: Annotated[str, typer.Option(help="Comma-separated, e.g. BTCUSDT,ETHUSDT")],
    from_: Annotated[str, typer.Option("--from", help="First candle: ISO-8601 UTC or epoch ms")],
    to: Annotated[str, typer.Option(help="End (exclusive): ISO-8601 UTC or epoch ms")],
    interval: Annotated[str, typer.Option(help="Kline interval, Binance spelling")] = "15m",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list on stdout")] = False,
    archive: Annotated[
        Path | None, typer.Option(help="Read Binance archive zips below DIR, not the Data Manager")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write the equity-curve page (HTML + SVG) into DIR")
    ] = None,
    fee: Annotated[float, typer.Option(help="Fee per side, fraction of notional", min=0)] = 0.0004,
    market: Annotated[str, typer.Option(help="spot or futures (USD-M)")] = "futures",
    all_timeframes: Annotated[
        bool, typer.Option(help="Also run strategies whose timeframes setting excludes INTERVAL")
    ] = False,
) -> None:
    """Backtest candle strategies over a stored range, with simulated fills.

    Loads W₀ + 1 + K candles before --from, evaluates each strategy once with the live code.

    Entry at the next open; exit on stop (first if a candle touches both), target,
    an opposite signal (next open) or the end of data.
    """
    from petrosa.contracts import Market
    from petrosa.tabot.backtest import FillRules, Spec, rows_before
    from petrosa.tabot.backtest.engine import running

    chosen = _strategies(strategies, all_timeframes)
    names = _symbols(symbols)
    base = _interval(interval)
    start, end = _time(from_, "--from"), _time(to, "--to")
    if start >= end:
        raise usage_error(f"--from must be before --to (got {from_} ≥ {to})")
    try:
        chosen_market = Market(market)
    except ValueError:
        raise usage_error(f"--market {market!r}: expected spot or futures") from None
    if archive is not None and not archive.is_dir():
        raise usage_error(f"--archive {archive}: not a directory")
    spec = Spec(tuple(names), base, start, end, chosen_market, FillRules(fee_rate=fee))
    active = running(chosen, base)
    histories = _load(spec, active, archive)
    missing = [s for s, h in histories.items() if h.first_row >= len(h.candles)]
    if missing:
        where = f"in {archive}" if archive is not None else "in the Data Manager"
        raise usage_error(
            f"no {base.value} candles for {', '.join(missing)} {where} between {from_} and {to}"
        )
    results = _run(histories, chosen, spec)
    _output(results, spec, as_json=as_json, report=report, loaded=rows_before(active))


def _run(histories: dict[str, History], chosen: list[Chosen], spec: Any) -> list[StrategyResult]:
    from petrosa.tabot.backtest import run

    return run(histories, chosen, spec)


def _output(
    results: Sequence[StrategyResult], spec: Any, *, as_json: bool, report: Path | None, loaded: int
) -> None:
    import orjson

    from petrosa.tabot.backtest import report as show

    page = show.write_html(results, spec, report) if report is not None else None
    if as_json:
        typer.echo(orjson.dumps(show.entries(results), option=orjson.OPT_INDENT_2).decode())
        if page is not None:
            typer.echo(f"equity curves: {page}", err=True)
        return
    from rich.console import Console

    console = Console(width=200)
    console.print(show.table(results, show.title(spec)))
    console.print(f"{loaded} candles loaded before the range (W₀ + 1 + K of the deepest strategy)")
    if page is not None:
        console.print(f"equity curves: {page}")


def _strategies(raw: str, all_timeframes: bool) -> list[Chosen]:
    from petrosa.tabot import BY_ID, CATALOGUE
    from petrosa.tabot.backtest import Chosen

    wanted = [part.strip() for part in raw.split(",") if part.strip()]
    if wanted == ["all"]:
        picked = list(CATALOGUE)
    else:
        unknown = [w for w in wanted if w not in BY_ID]
        if unknown or not wanted:
            name = unknown[0] if unknown else raw
            raise usage_error(f"unknown strategy {name!r} (see: petrosa tabot strategies)")
        picked = [BY_ID[w] for w in dict.fromkeys(wanted)]
    if all_timeframes:
        return [Chosen(s, s.params({"timeframes": None})) for s in picked]
    return [Chosen.defaults(s) for s in picked]


def _symbols(raw: str) -> list[str]:
    names = [part.strip().upper() for part in raw.split(",") if part.strip()]
    bad = [s for s in names if not SYMBOL.fullmatch(s)]
    if bad or not names:
        raise usage_error(f"malformed symbol {(bad or [raw])[0]!r}: expected e.g. BTCUSDT")
    return list(dict.fromkeys(names))


def _interval(raw: str) -> Interval:
    from petrosa.contracts import Interval

    try:
        chosen = Interval(raw)
    except ValueError:
        spellings = " ".join(i.value for i in Interval)
        raise usage_error(f"unknown interval {raw!r}: one of {spellings}") from None
    if chosen.milliseconds is None:
        raise usage_error(f"interval {raw} has no fixed length: backtest a fixed interval")
    return chosen


def _time(raw: str, option: str) -> int:
    if raw.isdigit():
        return int(raw)
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise usage_error(f"{option} {raw!r} is neither ISO-8601 nor epoch milliseconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def _load(spec: Any, chosen: list[Chosen], archive: Path | None) -> dict[str, History]:
    from petrosa.client import DataManagerClient, DataManagerError
    from petrosa.tabot.backtest import DataManagerCandles, load

    async def from_store() -> dict[str, History]:
        async with DataManagerClient() as client:
            source = DataManagerCandles(client, market=spec.market)
            return await load(source, chosen, spec.symbols, spec.interval,
                              spec.start_ms, spec.end_ms)  # fmt: skip

    async def from_files() -> dict[str, History]:
        assert archive is not None
        return await load(ArchiveCandles(archive), chosen, spec.symbols, spec.interval,
                          spec.start_ms, spec.end_ms)  # fmt: skip

    try:
        return asyncio.run(from_store() if archive is None else from_files())
    except DataManagerError as error:
        typer.echo(f"error: reading candles from the Data Manager failed: {error}", err=True)
        raise typer.Exit(READ_FAILED) from None


class ArchiveCandles:
    """``CandleSource`` over a folder of Binance archive zips (verified and parsed by the
    extractor's reader; a file failing its checks is an error, not silently skipped)."""

    def __init__(self, directory: Path) -> None:
        from petrosa.extractor.archive import find_archives

        self._files, _ = find_archives(directory)
        self._read: dict[tuple[str, str], CandleWindow] = {}

    async def candles(
        self, symbol: str, interval: Interval, start_ms: int, end_ms: int
    ) -> CandleWindow:
        import numpy as np

        key = (symbol, interval.value)
        window = self._read.get(key)
        if window is None:
            window = self._read[key] = self._parse(symbol, interval)
        first, stop = np.searchsorted(window.open_time, [start_ms, end_ms])
        return window.rows(int(first), int(stop))

    def _parse(self, symbol: str, interval: Interval) -> CandleWindow:
        from petrosa.extractor.archive import ArchiveError, read_archive
        from petrosa.tabot.backtest.history import from_binance_arrays

        rows: list[list[Any]] = []
        for file in self._files:
            if file.symbol != symbol or file.interval != interval:
                continue
            try:
                contents = read_archive(file)
            except ArchiveError as error:
                raise usage_error(f"archive {file.path.name}: {error}") from None
            rows.extend(k.to_binance() for k in contents.klines)
        return from_binance_arrays(interval, rows)
