"""Shared pieces of the benchmarks: throw-away databases, a real server process, tables.

Everything runs on loopback. Databases are created per run and dropped afterwards:
SQLite files in a temporary directory on disk (not tmpfs), ``petrosa_bench_*`` databases
on MariaDB (root, no password) and PostgreSQL (postgres, trust).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table
from tests.support.server import RunningServer, start_service
from tests.support.services import port_open

console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
T = TypeVar("T")

BACKENDS = ("sqlite", "mariadb", "postgresql")
MARIADB = ("127.0.0.1", 3306)
POSTGRES = ("127.0.0.1", 5432)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_backends(raw: str) -> list[str]:
    names = [b.strip() for b in raw.split(",") if b.strip()]
    for name in names:
        if name not in BACKENDS:
            raise SystemExit(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    return names


def parse_ints(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",") if part.strip()]


# --------------------------------------------------------------------------- databases


@dataclass(frozen=True)
class BenchDatabase:
    backend: str
    name: str
    url: str
    """Plain URL, as a user configures the Data Manager (``DATA_MANAGER_DATABASE_URL``)."""
    async_url: str
    """The same database for ``create_async_engine`` (what the direct baselines use)."""
    path: Path | None = None
    """SQLite file."""


def available(backend: str) -> str | None:
    """None when the backend can be used here, else why not."""
    if backend == "mariadb" and not port_open(*MARIADB):
        return f"MariaDB not reachable at {MARIADB[0]}:{MARIADB[1]}"
    if backend == "postgresql" and not port_open(*POSTGRES):
        return f"PostgreSQL not reachable at {POSTGRES[0]}:{POSTGRES[1]}"
    return None


def _mariadb_admin(sql: str) -> None:
    import pymysql

    conn = pymysql.connect(host=MARIADB[0], port=MARIADB[1], user="root", password="")
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
        conn.commit()
    finally:
        conn.close()


async def _postgres_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(host=POSTGRES[0], port=POSTGRES[1], user="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def bench_database(backend: str, purpose: str) -> Iterator[BenchDatabase]:
    """A fresh, empty database for one benchmark run, dropped afterwards."""
    name = f"petrosa_bench_{purpose}"
    if backend == "sqlite":
        workdir = Path(tempfile.mkdtemp(prefix=f"{name}_", dir="/var/tmp"))
        path = workdir / f"{name}.db"
        try:
            yield BenchDatabase(
                backend, name, f"sqlite:///{path}", f"sqlite+aiosqlite:///{path}", path
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    if backend == "mariadb":
        _mariadb_admin(f"DROP DATABASE IF EXISTS `{name}`")
        _mariadb_admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        host, port = MARIADB
        try:
            yield BenchDatabase(
                backend,
                name,
                f"mysql://root@{host}:{port}/{name}",
                f"mysql+aiomysql://root@{host}:{port}/{name}",
            )
        finally:
            _mariadb_admin(f"DROP DATABASE IF EXISTS `{name}`")
        return
    if backend == "postgresql":
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
        host, port = POSTGRES
        try:
            yield BenchDatabase(
                backend,
                name,
                f"postgresql://postgres@{host}:{port}/{name}",
                f"postgresql+asyncpg://postgres@{host}:{port}/{name}",
            )
        finally:
            asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    raise ValueError(backend)


def migrate(db: BenchDatabase) -> None:
    """Create the schema exactly as the service does (``petrosa data-manager migrate``)."""
    env = {**os.environ, "DATA_MANAGER_DATABASE_URL": db.url}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "petrosa.cli.main",
            "data-manager",
            "migrate",
            "--log-level",
            "warning",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migration failed:\n{result.stdout}\n{result.stderr}")


# --------------------------------------------------------------------------- server


class Server(RunningServer):
    """One ``petrosa <service> serve`` process of a benchmark (one uvicorn worker)."""

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def cpu_seconds(self) -> float:
        """User+system CPU time the server process has used so far."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@contextlib.contextmanager
def petrosa_service(
    arguments: Sequence[str], *, env: dict[str, str] | None = None, ready_path: str
) -> Iterator[Server]:
    """Run ``petrosa <arguments> --port <free>`` until the block ends, once it is ready."""
    log_dir = Path(tempfile.mkdtemp(prefix="petrosa_bench_log_"))
    try:
        started = start_service(
            arguments[0], list(arguments), log_dir, ready_path=ready_path, extra_env=env
        )
        server = Server(started.base_url, started.process, started.log_path)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)


@contextlib.contextmanager
def data_manager(db: BenchDatabase, *, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Run the Data Manager on ``db`` on a free loopback port until the block ends."""
    with petrosa_service(
        ["data-manager", "serve", "--log-level", "warning"],
        env={"DATA_MANAGER_DATABASE_URL": db.url, **(env or {})},
        ready_path="/health/readiness",
    ) as server:
        yield server


@contextlib.contextmanager
def exchange_simulator(*options: str) -> Iterator[Server]:
    """Run ``petrosa exchange-sim serve [options]`` until the block ends."""
    with petrosa_service(
        ["exchange-sim", "serve", "--log-level", "warning", *options],
        ready_path="/health/liveness",
    ) as server:
        yield server


# --------------------------------------------------------------------------- figures


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def fmt_rate(value: float) -> str:
    return "—" if value != value else f"{value:,.0f}"


def fmt_ms(seconds: float) -> str:
    return "—" if seconds != seconds else f"{seconds * 1000:.2f}"


def fmt_ratio(value: float) -> str:
    return "—" if value != value else f"{value:.2f}"


def new_table(title: str, columns: Sequence[str], *, right_from: int = 1) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for index, column in enumerate(columns):
        table.add_column(column, justify="right" if index >= right_from else "left")
    return table


def git_revision() -> str:
    """The commit measured, with "+dirty" when the working tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


def environment_line() -> str:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {os.cpu_count()} CPUs · "
        f"load {load} · Python {platform.python_version()} · {loop_name()} · "
        f"git {git_revision()}"
    )


def loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when installed (as uvicorn does), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


# --------------------------------------------------------------------------- klines

MINUTE_MS = 60_000
BASE_OPEN_TIME = 1_600_000_020_000 - 1_600_000_020_000 % MINUTE_MS
"""2020-09-13: a round minute; series run forward from here."""
BENCH_MARKET = "futures"
"""The market every benchmark series belongs to (the Data Manager's default)."""
KLINE_COLUMNS = (
    "market", "symbol", "interval", "open_time", "open", "high", "low", "close", "volume",
    "close_time", "quote_volume", "trades", "taker_buy_base_volume", "taker_buy_quote_volume",
)  # fmt: skip
KLINE_ROW_COLUMNS = KLINE_COLUMNS[3:]
"""What a read returns: everything but the series key (market, symbol, interval)."""


def _prices(i: int) -> tuple[float, float, float, float, float]:
    base = 20_000.0 + (i * 7919 % 10_000) * 0.25
    volume = 1.0 + (i * 104_729 % 1_000) * 0.125
    return base, base + 1.5, base - 1.25, base + 0.5, volume


def binance_klines(count: int, *, start: int = BASE_OPEN_TIME) -> list[list[Any]]:
    """``count`` consecutive 1m klines in Binance's 12-field layout (decimals as strings)."""
    rows: list[list[Any]] = []
    for i in range(count):
        open_time = start + i * MINUTE_MS
        o, h, low, c, v = _prices(i)
        rows.append(
            [
                open_time,
                f"{o:.8f}",
                f"{h:.8f}",
                f"{low:.8f}",
                f"{c:.8f}",
                f"{v:.8f}",
                open_time + MINUTE_MS - 1,
                f"{v * o:.8f}",
                100 + i % 57,
                f"{v / 2:.8f}",
                f"{v * o / 2:.8f}",
                "0",
            ]
        )
    return rows


def kline_tuples(symbol: str, count: int, *, start: int = BASE_OPEN_TIME) -> list[tuple[Any, ...]]:
    """The same series as table rows in ``KLINE_COLUMNS`` order (for direct bulk fills)."""
    rows: list[tuple[Any, ...]] = []
    for i in range(count):
        open_time = start + i * MINUTE_MS
        o, h, low, c, v = _prices(i)
        rows.append(
            (
                BENCH_MARKET,
                symbol,
                "1m",
                open_time,
                o,
                h,
                low,
                c,
                v,
                open_time + MINUTE_MS - 1,
                v * o,
                100 + i % 57,
                v / 2,
                v * o / 2,
            )
        )
    return rows
