"""Ingest benchmark: Binance klines through ``POST /data/klines`` against direct SQLAlchemy.

For each backend, in one run and on the same database and table:

* **API** — ``--rows`` 1m klines in Binance's 12-field layout (decimals as strings, as Binance
  sends them), ``--batch`` per request, to a one-worker ``petrosa data-manager serve``,
  through ``petrosa.client.DataManagerClient.insert_klines`` when the package exports it,
  else httpx + orjson posting the same body (the output says which);
* **direct SQLAlchemy** — what an engineer would write without the Data Manager: an async
  engine, ``insert(klines).on_conflict_do_update(...)`` (``on_duplicate_key_update`` on
  MariaDB) executed with a list of dicts (executemany), one transaction per batch, the
  Binance strings converted with ``float()``;
* **raw driver** (reference, one writer) — sqlite3 / PyMySQL / asyncpg ``executemany`` of
  tuples: the limit for this machine.

Each is measured on a fresh table (``insert``) and again with the same rows (``re-upsert``),
with one writer and with several concurrent writers pulling batches from one queue. The raw
driver runs in the same round as the one-writer passes. Methods alternate order between
rounds; rates are medians over ``--rounds``, and each ratio is the median of its per-round
ratios (both methods ran back to back, under the same load).

    python -m bench.ingest                       # spec defaults: 200,000 rows, batches of 1,000
    python -m bench.ingest --backends sqlite --rows 50000 --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sqlite3
import statistics
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from bench._common import (
    BENCH_MARKET,
    BenchDatabase,
    Server,
    available,
    bench_database,
    binance_klines,
    console,
    data_manager,
    environment_line,
    fmt_rate,
    fmt_ratio,
    median,
    migrate,
    new_table,
    parse_backends,
    parse_ints,
    run,
)

SYMBOL = "BTCUSDT"
INTERVAL = "1m"
API = "API"
DIRECT = "direct SQLAlchemy"
RAW = "raw driver (reference)"
PASSES = ("insert", "re-upsert")
TARGETS = {DIRECT: 0.5, RAW: 0.6}
"""API rate ÷ the baseline's, per round: ≥ 0.5 of direct SQLAlchemy (the spec), ≥ 0.6 of the
raw driver with one writer (issue 8, set for SQLite; shown for every backend)."""

Batch = list[list[Any]]


@dataclass(frozen=True)
class Options:
    rows: int
    batch: int
    writers: list[int]
    rounds: int
    client: str
    raw: bool


@dataclass
class Measurement:
    seconds: float
    client_cpu_s: float
    server_cpu_s: float = float("nan")


Key = tuple[int, str, str]
"""(writers, pass, method)"""


@dataclass(frozen=True)
class Verdict:
    backend: str
    writers: int
    pass_name: str
    baseline: str
    ratio: float


# --------------------------------------------------------------------------- writers


async def _drain(
    batches: list[Batch], writers: int, send: Callable[[Batch], Awaitable[None]]
) -> None:
    """``writers`` tasks taking batches from one queue, in order, until it is empty."""
    queue: asyncio.Queue[Batch] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)

    async def worker() -> None:
        while not queue.empty():
            await send(queue.get_nowait())

    await asyncio.gather(*(worker() for _ in range(writers)))


def _library_client() -> type[Any] | None:
    """``DataManagerClient`` when ``petrosa.client`` exports it (its public API), else None."""
    try:
        module = importlib.import_module("petrosa.client")
    except ImportError:
        return None
    client: type[Any] | None = getattr(module, "DataManagerClient", None)
    return client


def client_description(choice: str) -> str:
    if choice == "library":
        return "petrosa.client.DataManagerClient.insert_klines"
    return "httpx.AsyncClient + orjson (Binance-array body)"


async def api_pass(
    server: Server, batches: list[Batch], writers: int, choice: str, expect: str
) -> Measurement:
    """Every batch through ``POST /data/klines``; checks each answer's counts."""
    totals = {"received": 0, "inserted": 0, "updated": 0}
    cpu0, server0, started = time.process_time(), server.cpu_seconds(), time.perf_counter()
    if choice == "library":
        client_class = _library_client()
        assert client_class is not None
        async with client_class(server.base_url, timeout=60.0) as dm:

            async def send(batch: Batch) -> None:
                result = await dm.insert_klines(SYMBOL, INTERVAL, batch, chunk_rows=len(batch))
                totals["received"] += result.received
                totals["inserted"] += result.inserted
                totals["updated"] += result.updated

            await _drain(batches, writers, send)
    else:
        import httpx

        limits = httpx.Limits(max_connections=writers, max_keepalive_connections=writers)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60.0, limits=limits) as http:

            async def send(batch: Batch) -> None:
                body = orjson.dumps({"symbol": SYMBOL, "interval": INTERVAL, "klines": batch})
                response = await http.post(
                    "/data/klines", content=body, headers={"content-type": "application/json"}
                )
                response.raise_for_status()
                answer = orjson.loads(response.content)
                for key in totals:
                    totals[key] += answer[key]

            await _drain(batches, writers, send)
    seconds = time.perf_counter() - started
    measurement = Measurement(seconds, time.process_time() - cpu0, server.cpu_seconds() - server0)
    rows = sum(len(b) for b in batches)
    wanted = {"received": rows, "inserted": rows if expect == "insert" else 0}
    wanted["updated"] = rows - wanted["inserted"]
    if totals != wanted:
        raise RuntimeError(f"API answered {totals}, expected {wanted}")
    return measurement


def _direct_statement(backend: str) -> Any:
    from sqlalchemy.dialects import mysql, postgresql, sqlite

    from petrosa.datamanager.storage.market_schema import klines

    values = [c.name for c in klines.columns if not c.primary_key]
    if backend == "mariadb":
        stmt: Any = mysql.insert(klines)
        return stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in values})
    module: Any = postgresql if backend == "postgresql" else sqlite
    stmt = module.insert(klines)
    return stmt.on_conflict_do_update(
        index_elements=["market", "symbol", "interval", "open_time"],
        set_={c: stmt.excluded[c] for c in values},
    )


def _as_dicts(batch: Batch) -> list[dict[str, Any]]:
    return [
        {
            "market": BENCH_MARKET,
            "symbol": SYMBOL,
            "interval": INTERVAL,
            "open_time": k[0],
            "open": float(k[1]),
            "high": float(k[2]),
            "low": float(k[3]),
            "close": float(k[4]),
            "volume": float(k[5]),
            "close_time": k[6],
            "quote_volume": float(k[7]),
            "trades": k[8],
            "taker_buy_base_volume": float(k[9]),
            "taker_buy_quote_volume": float(k[10]),
        }
        for k in batch
    ]


async def direct_pass(db: BenchDatabase, batches: list[Batch], writers: int) -> Measurement:
    """The no-Data-Manager baseline: SQLAlchemy async Core upsert, executemany of dicts."""
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(db.async_url, pool_size=max(writers, 1), max_overflow=0)
    if db.backend == "sqlite":
        # Same durability as the service (WAL + synchronous=NORMAL), not SQLite's FULL default.
        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    statement = _direct_statement(db.backend)
    try:
        async with engine.connect():
            pass  # open a connection before the clock starts, as the API server has
        cpu0, started = time.process_time(), time.perf_counter()

        async def send(batch: Batch) -> None:
            async with engine.begin() as conn:
                await conn.execute(statement, _as_dicts(batch))

        await _drain(batches, writers, send)
        return Measurement(time.perf_counter() - started, time.process_time() - cpu0)
    finally:
        await engine.dispose()


def _raw_rows(batch: Batch) -> list[tuple[Any, ...]]:
    return [
        (
            BENCH_MARKET,
            SYMBOL,
            INTERVAL,
            k[0],
            float(k[1]),
            float(k[2]),
            float(k[3]),
            float(k[4]),
            float(k[5]),
            k[6],
            float(k[7]),
            k[8],
            float(k[9]),
            float(k[10]),
        )
        for k in batch
    ]


def _raw_sql(backend: str) -> str:
    from sqlalchemy import bindparam
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.dialects.mysql.base import MySQLDialect

    from petrosa.datamanager.storage.market_schema import klines

    dialect_class: dict[str, Any] = {
        "mariadb": MySQLDialect,
        "postgresql": postgresql.dialect,
        "sqlite": sqlite.dialect,
    }
    paramstyle = {"mariadb": "format", "postgresql": "numeric_dollar", "sqlite": "qmark"}
    dialect = dialect_class[backend](paramstyle=paramstyle[backend])
    names = [c.name for c in klines.columns]
    stmt = _direct_statement(backend).values({n: bindparam(n) for n in names})
    compiled = stmt.compile(dialect=dialect)
    order = list(compiled.positiontup or [])
    if order != names:
        raise RuntimeError(f"unexpected parameter order {order}")
    return str(compiled)


def raw_pass(db: BenchDatabase, batches: list[Batch]) -> Measurement:
    """One connection, tuples, the driver's own ``executemany``, one transaction per batch."""
    sql = _raw_sql(db.backend)
    if db.backend == "postgresql":
        return run(_raw_postgres(db, sql, batches))
    cpu0 = time.process_time()
    if db.backend == "sqlite":
        assert db.path is not None
        conn = sqlite3.connect(db.path, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")
        started = time.perf_counter()
        for batch in batches:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, _raw_rows(batch))
            conn.execute("COMMIT")
        seconds = time.perf_counter() - started
        conn.close()
    else:
        import pymysql

        mconn = pymysql.connect(host="127.0.0.1", port=3306, user="root", database=db.name)
        started = time.perf_counter()
        with mconn.cursor() as cursor:
            for batch in batches:
                cursor.executemany(sql, _raw_rows(batch))
                mconn.commit()
        seconds = time.perf_counter() - started
        mconn.close()
    return Measurement(seconds, time.process_time() - cpu0)


async def _raw_postgres(db: BenchDatabase, sql: str, batches: list[Batch]) -> Measurement:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database=db.name)
    try:
        cpu0, started = time.process_time(), time.perf_counter()
        for batch in batches:
            async with conn.transaction():
                await conn.executemany(sql, _raw_rows(batch))
        return Measurement(time.perf_counter() - started, time.process_time() - cpu0)
    finally:
        await conn.close()


# --------------------------------------------------------------------------- table state


def empty_table(db: BenchDatabase) -> None:
    if db.backend == "sqlite":
        assert db.path is not None
        conn = sqlite3.connect(db.path, isolation_level=None)
        conn.execute("DELETE FROM klines")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    elif db.backend == "mariadb":
        import pymysql

        mconn = pymysql.connect(host="127.0.0.1", port=3306, user="root", database=db.name)
        with mconn.cursor() as cursor:
            cursor.execute("TRUNCATE TABLE klines")
        mconn.close()
    else:
        run(_postgres(db, "TRUNCATE klines"))


def count_rows(db: BenchDatabase) -> int:
    if db.backend == "sqlite":
        assert db.path is not None
        conn = sqlite3.connect(db.path)
        (count,) = conn.execute("SELECT COUNT(*) FROM klines").fetchone()
        conn.close()
        return int(count)
    if db.backend == "mariadb":
        import pymysql

        mconn = pymysql.connect(host="127.0.0.1", port=3306, user="root", database=db.name)
        with mconn.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM klines")
            row = cursor.fetchone()
        mconn.close()
        assert row is not None
        return int(row[0])
    return int(run(_postgres(db, "SELECT COUNT(*) FROM klines")))


async def _postgres(db: BenchDatabase, sql: str) -> Any:
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database=db.name)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


# --------------------------------------------------------------------------- driver


def bench_backend(
    backend: str, options: Options, batches: list[Batch]
) -> dict[Key, list[Measurement]]:
    results: dict[Key, list[Measurement]] = defaultdict(list)
    rows = sum(len(b) for b in batches)
    with bench_database(backend, "ingest") as db:
        migrate(db)
        with data_manager(db) as server:
            for round_index in range(options.rounds):
                for writers in options.writers:
                    methods = [DIRECT, API]
                    if options.raw and writers == 1:
                        methods.append(RAW)  # next to the one-writer API pass it is compared with
                    if round_index % 2:
                        methods.reverse()
                    for method in methods:
                        for pass_name in PASSES:
                            if pass_name == "insert":
                                empty_table(db)
                            if method == API:
                                m = run(
                                    api_pass(server, batches, writers, options.client, pass_name)
                                )
                            elif method == RAW:
                                m = raw_pass(db, batches)
                            else:
                                m = run(direct_pass(db, batches, writers))
                            if count_rows(db) != rows:
                                raise RuntimeError(f"{method} left a wrong row count")
                            results[(writers, pass_name, method)].append(m)
                            console.print(
                                f"  {backend} round {round_index + 1} · {writers} writer(s) · "
                                f"{method} · {pass_name}: {fmt_rate(rows / m.seconds)} rows/s"
                            )
    return results


def print_backend(
    backend: str, results: dict[Key, list[Measurement]], rows: int, options: Options
) -> list[Verdict]:
    """The table for one backend; returns the API's ratios for the verdicts."""
    table = new_table(
        f"{backend}: {rows:,} klines in batches of {options.batch:,} "
        f"(median of {options.rounds} round(s))",
        [
            "writers",
            "pass",
            "method",
            "rows/s",
            "min-max",
            "÷ direct SQLA",
            "÷ raw",
            "client CPU",
            "server CPU",
        ],
        right_from=3,
    )
    ratios: list[Verdict] = []
    raw_rates = {p: [rows / m.seconds for m in results.get((1, p, RAW), [])] for p in PASSES}
    for writers in options.writers:
        for pass_name in PASSES:
            direct = [rows / m.seconds for m in results[(writers, pass_name, DIRECT)]]
            for method in (API, DIRECT, RAW):
                measurements = results.get((writers, pass_name, method))
                if not measurements:
                    continue
                rates = [rows / m.seconds for m in measurements]
                # per-round ratios: the methods ran back to back in that round
                vs_direct = statistics.median(r / d for r, d in zip(rates, direct, strict=False))
                if writers == 1 and raw_rates[pass_name]:
                    per_round = zip(rates, raw_rates[pass_name], strict=False)
                    vs_raw = statistics.median(r / w for r, w in per_round)
                else:
                    vs_raw = median(rates) / median(raw_rates[pass_name])
                if method == API:
                    ratios.append(Verdict(backend, writers, pass_name, DIRECT, vs_direct))
                    if writers == 1 and raw_rates[pass_name]:
                        ratios.append(Verdict(backend, writers, pass_name, RAW, vs_raw))
                seconds = sum(m.seconds for m in measurements)
                table.add_row(
                    str(writers) if method != RAW else "1",
                    pass_name,
                    method,
                    fmt_rate(median(rates)),
                    f"{fmt_rate(min(rates))}-{fmt_rate(max(rates))}",
                    fmt_ratio(vs_direct),
                    fmt_ratio(vs_raw),
                    f"{100 * sum(m.client_cpu_s for m in measurements) / seconds:.0f}%",
                    "—"
                    if method != API
                    else f"{100 * sum(m.server_cpu_s for m in measurements) / seconds:.0f}%",
                )
        table.add_section()
    console.print(table)
    return ratios


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Kline ingest benchmark.")
    parser.add_argument("--rows", type=int, default=200_000, help="klines per pass")
    parser.add_argument("--batch", type=int, default=1_000, help="klines per request/transaction")
    parser.add_argument("--writers", default="1,4", help="concurrent writers, e.g. 1,4")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--backends", default="sqlite,mariadb,postgresql")
    parser.add_argument(
        "--client",
        choices=("auto", "library", "httpx"),
        default="auto",
        help="auto = petrosa.client.DataManagerClient if exported, else httpx",
    )
    parser.add_argument("--no-raw", action="store_true", help="skip the raw-driver reference")
    args = parser.parse_args(argv)
    choice = args.client
    if choice == "auto":
        choice = "library" if _library_client() is not None else "httpx"
    elif choice == "library" and _library_client() is None:
        parser.error("petrosa.client does not export DataManagerClient")
    options = Options(
        rows=args.rows,
        batch=args.batch,
        writers=parse_ints(args.writers),
        rounds=args.rounds,
        client=choice,
        raw=not args.no_raw,
    )
    klines = binance_klines(options.rows)
    batches = [klines[i : i + options.batch] for i in range(0, len(klines), options.batch)]
    console.print(f"ingest benchmark · {environment_line()}")
    console.print(f"API client: {client_description(choice)}")
    all_ratios: list[Verdict] = []
    for backend in parse_backends(args.backends):
        reason = available(backend)
        if reason:
            console.print(f"[yellow]skipping {backend}: {reason}[/]")
            continue
        results = bench_backend(backend, options, batches)
        all_ratios += print_backend(backend, results, options.rows, options)
    for v in all_ratios:
        target = TARGETS[v.baseline]
        verdict = "[green]met[/]" if v.ratio >= target else "[red]NOT met[/]"
        console.print(
            f"target API ≥ {target:g} x {v.baseline} — {v.backend}, {v.writers} writer(s), "
            f"{v.pass_name}: {v.ratio:.2f} → {verdict}"
        )


if __name__ == "__main__":
    main()
