"""Read benchmark: the newest 100 candles of one series in a 1,000,000-row klines table.

For each backend, in one run:

1. fill ``klines`` with ``--rows`` rows spread over ``--symbols`` series (direct bulk SQL,
   setup only), the target series being one of them;
2. the load generator's own ceiling against a trivial HTTP server (once per run);
3. a one-worker Data Manager (``petrosa data-manager serve``): ``/health/liveness``
   (the framework's ceiling), then ``GET /data/candles?pair=&period=1m&limit=100`` with the
   candle cache at its default TTL ("cache on");
4. a second server with ``DATA_MANAGER_CANDLE_CACHE_TTL_S=0`` ("cache off": every request
   runs the query);
5. the same SQL through SQLAlchemy async at the same concurrency, in process, no HTTP;
6. the raw driver (sqlite3 / PyMySQL / asyncpg), one connection, sequential: the limit.

All HTTP figures come from ``bench.loadgen`` (closed loop, keep-alive, ``--connections``);
with ``wrk`` installed the HTTP scenarios are repeated with ``wrk -t1`` as a cross-check.

    python -m bench.read                      # spec defaults: 1M rows, 16 conns, 10 s
    python -m bench.read --backends sqlite --duration 5
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench._common import (
    BENCH_MARKET,
    KLINE_COLUMNS,
    KLINE_ROW_COLUMNS,
    BenchDatabase,
    available,
    bench_database,
    console,
    data_manager,
    environment_line,
    fmt_ratio,
    kline_tuples,
    loop_name,
    migrate,
    new_table,
    parse_backends,
    percentile,
    run,
)
from bench.loadgen import (
    LOAD_COLUMNS,
    LoadResult,
    generator_ceiling,
    http_load,
    load_row,
    wrk_available,
    wrk_load,
)

SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT")
TARGET_RATE_SQLITE = 1_000.0


@dataclass(frozen=True)
class Options:
    rows: int
    symbols: int
    limit: int
    connections: int
    duration_s: float
    warmup_s: float
    use_wrk: bool

    @property
    def target(self) -> str:
        return SYMBOLS[1]


# --------------------------------------------------------------------------- setup


def _quoted(backend: str, name: str) -> str:
    return f"`{name}`" if backend == "mariadb" else f'"{name}"'


def _insert_sql(backend: str) -> str:
    marker = "?" if backend == "sqlite" else "%s"
    columns = ", ".join(_quoted(backend, c) for c in KLINE_COLUMNS)
    markers = ", ".join([marker] * len(KLINE_COLUMNS))
    return f"INSERT INTO klines ({columns}) VALUES ({markers})"


def fill(db: BenchDatabase, options: Options) -> float:
    """Bulk-load the table directly (setup, not measured as a result); returns seconds."""
    started = time.perf_counter()
    symbols = SYMBOLS[: options.symbols]
    per_symbol = options.rows // len(symbols)
    if db.backend == "sqlite":
        assert db.path is not None
        conn = sqlite3.connect(db.path, isolation_level=None)
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        for symbol in symbols:
            conn.executemany(_insert_sql("sqlite"), kline_tuples(symbol, per_symbol))
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.close()
    elif db.backend == "mariadb":
        import pymysql

        mconn = pymysql.connect(host="127.0.0.1", port=3306, user="root", database=db.name)
        try:
            with mconn.cursor() as cursor:
                sql = _insert_sql("mariadb")
                for symbol in symbols:
                    rows = kline_tuples(symbol, per_symbol)
                    for offset in range(0, len(rows), 5_000):
                        cursor.executemany(sql, rows[offset : offset + 5_000])
                    mconn.commit()
                cursor.execute("ANALYZE TABLE klines")
        finally:
            mconn.close()
    else:
        run(_fill_postgres(db, symbols, per_symbol))
    return time.perf_counter() - started


async def _fill_postgres(db: BenchDatabase, symbols: tuple[str, ...], per_symbol: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database=db.name)
    try:
        for symbol in symbols:
            await conn.copy_records_to_table(
                "klines", records=kline_tuples(symbol, per_symbol), columns=list(KLINE_COLUMNS)
            )
        await conn.execute("ANALYZE klines")
    finally:
        await conn.close()


# --------------------------------------------------------------------------- direct


async def closed_loop(
    call: Callable[[], Awaitable[Any]],
    *,
    label: str,
    tool: str,
    concurrency: int,
    duration_s: float,
    warmup_s: float,
) -> LoadResult:
    """``concurrency`` tasks calling ``call`` back to back; latency of each call."""
    measure_from = time.perf_counter() + warmup_s
    stop_at = measure_from + duration_s
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while (started := time.perf_counter()) < stop_at:
            try:
                await call()
            except Exception:
                errors += 1
                continue
            done = time.perf_counter()
            if measure_from <= done < stop_at:
                latencies.append(done - started)

    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
    cpu0 = time.process_time()
    await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
    cpu1 = time.process_time()
    await asyncio.gather(*tasks)
    latencies.sort()
    return LoadResult(
        label=label,
        tool=tool,
        connections=concurrency,
        requests=len(latencies),
        errors=errors,
        elapsed_s=duration_s,
        latencies_s=latencies,
        p50_s=percentile(latencies, 0.5),
        p99_s=percentile(latencies, 0.99),
        client_cpu_s=cpu1 - cpu0,
    )


async def direct_sqlalchemy(db: BenchDatabase, options: Options) -> LoadResult:
    """The service's query (newest ``limit`` + 1 rows of one series) via SQLAlchemy async."""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from petrosa.datamanager.storage.market_schema import klines

    engine = create_async_engine(db.async_url, pool_size=options.connections, max_overflow=0)
    columns = [klines.c[name] for name in KLINE_ROW_COLUMNS]
    symbol = options.target

    async def query() -> None:
        statement = (
            select(*columns)
            .where(
                klines.c.market == BENCH_MARKET,
                klines.c.symbol == symbol,
                klines.c.interval == "1m",
            )
            .order_by(klines.c.open_time.desc())
            .limit(options.limit + 1)
        )
        async with engine.connect() as conn:
            rows = [tuple(row) for row in await conn.execute(statement)]
        if len(rows) != options.limit + 1:
            raise RuntimeError(f"expected {options.limit + 1} rows, got {len(rows)}")

    try:
        return await closed_loop(
            query,
            label="direct: SQLAlchemy async, same SQL",
            tool="in-process",
            concurrency=options.connections,
            duration_s=options.duration_s,
            warmup_s=options.warmup_s,
        )
    finally:
        await engine.dispose()


def _select_sql(backend: str, limit: int) -> str:
    marker = "?" if backend == "sqlite" else ("$1" if backend == "postgresql" else "%s")
    columns = ", ".join(_quoted(backend, c) for c in KLINE_ROW_COLUMNS)
    return (
        f"SELECT {columns} FROM klines WHERE market = '{BENCH_MARKET}' AND symbol = {marker}"
        f" AND {_quoted(backend, 'interval')} = '1m' ORDER BY open_time DESC LIMIT {limit + 1}"
    )


def direct_raw(db: BenchDatabase, options: Options) -> LoadResult:
    """The same SQL on the raw driver, one connection, one query after another."""
    sql = _select_sql(db.backend, options.limit)
    symbol = options.target
    if db.backend == "postgresql":
        return run(_raw_postgres(db, sql, options))
    fetch: Callable[[], list[Any]]
    close: Callable[[], None]
    if db.backend == "sqlite":
        assert db.path is not None
        conn = sqlite3.connect(db.path)
        fetch, close, driver = (
            lambda: conn.execute(sql, (symbol,)).fetchall(),
            conn.close,
            "sqlite3",
        )
    else:
        import pymysql

        mconn = pymysql.connect(host="127.0.0.1", port=3306, user="root", database=db.name)
        cursor = mconn.cursor()

        def fetch() -> list[Any]:
            cursor.execute(sql, (symbol,))
            return list(cursor.fetchall())

        close, driver = mconn.close, "PyMySQL"
    try:
        return _sequential(fetch, options, f"direct: raw {driver}, 1 connection")
    finally:
        close()


def _sequential(fetch: Callable[[], list[Any]], options: Options, label: str) -> LoadResult:
    warm_until = time.perf_counter() + options.warmup_s
    while time.perf_counter() < warm_until:
        fetch()
    latencies: list[float] = []
    cpu0 = time.process_time()
    stop_at = time.perf_counter() + options.duration_s
    while (started := time.perf_counter()) < stop_at:
        rows = fetch()
        latencies.append(time.perf_counter() - started)
    cpu1 = time.process_time()
    if len(rows) != options.limit + 1:
        raise RuntimeError(f"expected {options.limit + 1} rows, got {len(rows)}")
    latencies.sort()
    return LoadResult(
        label=label,
        tool="in-process",
        connections=1,
        requests=len(latencies),
        errors=0,
        elapsed_s=options.duration_s,
        latencies_s=latencies,
        p50_s=percentile(latencies, 0.5),
        p99_s=percentile(latencies, 0.99),
        client_cpu_s=cpu1 - cpu0,
    )


async def _raw_postgres(db: BenchDatabase, sql: str, options: Options) -> LoadResult:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database=db.name)
    try:
        statement = await conn.prepare(sql)
        symbol = options.target

        async def fetch() -> None:
            rows = await statement.fetch(symbol)
            if len(rows) != options.limit + 1:
                raise RuntimeError(f"expected {options.limit + 1} rows, got {len(rows)}")

        return await closed_loop(
            fetch,
            label="direct: raw asyncpg, 1 connection",
            tool="in-process",
            concurrency=1,
            duration_s=options.duration_s,
            warmup_s=options.warmup_s,
        )
    finally:
        await conn.close()


# --------------------------------------------------------------------------- API


def _check_answer(base_url: str, path: str, options: Options) -> None:
    answer = httpx.get(base_url + path, timeout=10).json()
    candles = answer["candles"]
    if len(candles) != options.limit or answer["pair"] != options.target:
        raise RuntimeError(f"unexpected answer from {path}: {str(answer)[:200]}")
    if candles[0]["open_time"] <= candles[-1]["open_time"]:
        raise RuntimeError("candles are not newest first")


def api_scenarios(db: BenchDatabase, options: Options, *, cache: bool) -> list[LoadResult]:
    path = f"/data/candles?pair={options.target}&period=1m&limit={options.limit}"
    env = {} if cache else {"DATA_MANAGER_CANDLE_CACHE_TTL_S": "0"}
    label = "API candles, cache ON (default TTL)" if cache else "API candles, cache OFF (TTL 0)"
    results: list[LoadResult] = []
    with data_manager(db, env=env) as server:
        _check_answer(server.base_url, path, options)
        targets = [(f"{server.base_url}{path}", label)]
        if cache:
            targets.insert(0, (f"{server.base_url}/health/liveness", "API /health/liveness"))
        for url, name in targets:
            results.append(
                run(
                    http_load(
                        url,
                        connections=options.connections,
                        duration_s=options.duration_s,
                        warmup_s=options.warmup_s,
                        label=name,
                        server_cpu=server.cpu_seconds,
                    )
                )
            )
            if options.use_wrk:
                results.append(
                    wrk_load(
                        url,
                        connections=options.connections,
                        duration_s=options.duration_s,
                        label=name,
                        server_cpu=server.cpu_seconds,
                    )
                )
    return results


# --------------------------------------------------------------------------- main


def bench_backend(backend: str, options: Options) -> tuple[list[LoadResult], float]:
    with bench_database(backend, "read") as db:
        migrate(db)
        fill_s = fill(db, options)
        console.print(f"{backend}: filled {options.rows:,} rows in {fill_s:.1f}s")
        results = api_scenarios(db, options, cache=True)
        console.print(f"{backend}: cache on done")
        results += api_scenarios(db, options, cache=False)
        console.print(f"{backend}: cache off done")
        results.append(run(direct_sqlalchemy(db, options)))
        results.append(direct_raw(db, options))
    return results, fill_s


def print_backend(backend: str, results: list[LoadResult], options: Options) -> None:
    direct = next(r for r in results if r.label.startswith("direct: SQLAlchemy"))
    table = new_table(
        f"{backend}: newest {options.limit} candles of {options.target}, {options.rows:,} rows, "
        f"{options.symbols} series",
        [*LOAD_COLUMNS, "÷ direct SQLA"],
        right_from=2,
    )
    for result in results:
        table.add_row(*load_row(result), fmt_ratio(result.rate / direct.rate))
    console.print(table)


def verdicts(all_results: dict[str, list[LoadResult]]) -> None:
    sqlite = all_results.get("sqlite")
    if not sqlite:
        return
    for result in sqlite:
        if result.label.startswith("API candles") and result.tool == "bench.loadgen":
            met = result.rate >= TARGET_RATE_SQLITE
            verdict = "[green]met[/]" if met else "[red]NOT met[/]"
            console.print(
                f"target ≥ {TARGET_RATE_SQLITE:,.0f} req/s on SQLite — {result.label}: "
                f"{result.rate:,.0f} req/s → {verdict}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Newest-candles read benchmark.")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in klines")
    parser.add_argument("--symbols", type=int, default=5, help=f"series (≤ {len(SYMBOLS)})")
    parser.add_argument("--limit", type=int, default=100, help="candles per request")
    parser.add_argument("--connections", type=int, default=16, help="concurrency")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--backends", default="sqlite,mariadb", help="sqlite,mariadb,postgresql")
    parser.add_argument(
        "--wrk", choices=("auto", "on", "off"), default="auto", help="cross-check with wrk"
    )
    args = parser.parse_args(argv)
    if not 2 <= args.symbols <= len(SYMBOLS):
        parser.error(f"--symbols must be between 2 and {len(SYMBOLS)}")
    if args.wrk == "on" and not wrk_available():
        parser.error("wrk is not installed")
    options = Options(
        rows=args.rows,
        symbols=args.symbols,
        limit=args.limit,
        connections=args.connections,
        duration_s=args.duration,
        warmup_s=args.warmup,
        use_wrk=args.wrk == "on" or (args.wrk == "auto" and wrk_available()),
    )
    console.print(f"read benchmark · {environment_line()}")
    console.print(
        f"load: bench.loadgen ({loop_name()}, {options.connections} keep-alive connections, "
        f"{options.duration_s:g}s after {options.warmup_s:g}s warm-up)"
        + (" + wrk -t1 cross-check" if options.use_wrk else " (wrk not used)")
    )
    ceiling = run(
        generator_ceiling(
            connections=options.connections,
            duration_s=options.duration_s,
            warmup_s=options.warmup_s,
        )
    )
    table = new_table("load generator ceiling", LOAD_COLUMNS, right_from=2)
    table.add_row(*load_row(ceiling))
    console.print(table)
    all_results: dict[str, list[LoadResult]] = {}
    for backend in parse_backends(args.backends):
        reason = available(backend)
        if reason:
            console.print(f"[yellow]skipping {backend}: {reason}[/]")
            continue
        results, _fill_s = bench_backend(backend, options)
        all_results[backend] = results
        print_backend(backend, results, options)
    verdicts(all_results)


if __name__ == "__main__":
    main()
