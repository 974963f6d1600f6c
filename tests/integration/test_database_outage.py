"""The database stops answering, then comes back: truthful readiness, fast 503s, recovery.

Real MariaDB and PostgreSQL behind a fault-injecting TCP proxy; a real Data Manager process
over HTTP (the service is never restarted), and its Database in-process for the deadlines.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiomysql
import asyncpg
import httpx
import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.database import Database, StoreUnavailable
from tests.support.server import RunningServer, start_data_manager
from tests.support.services import (
    MARIADB_HOST,
    MARIADB_PORT,
    POSTGRES_HOST,
    POSTGRES_PORT,
    ThrowawayDatabase,
    create_database,
    drop_database,
)
from tests.support.tcp_proxy import FaultyTcpProxy, Mode

pytestmark = pytest.mark.integration

QUERY_TIMEOUT_S = 2.0
DEADLINE_S = 5.0
"""An outage must show within this many seconds: never a hang."""
RECOVERY_S = 20.0


@pytest.fixture(params=["mariadb", "postgresql"])
def proxied_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[RunningServer, FaultyTcpProxy]]:
    database: ThrowawayDatabase = create_database(request.param, tmp_path)
    proxy = FaultyTcpProxy(database.host, database.port).start()
    server = start_data_manager(
        database.url_via("127.0.0.1", proxy.port),
        tmp_path,
        extra_env={
            "DATA_MANAGER_QUERY_TIMEOUT_S": str(QUERY_TIMEOUT_S),
            "DATA_MANAGER_CONNECT_TIMEOUT_S": "1",
            "DATA_MANAGER_READINESS_TIMEOUT_S": "1",
            "DATA_MANAGER_CANDLE_CACHE_TTL_S": "0",
        },
    )
    yield server, proxy
    server.stop()
    proxy.stop()
    drop_database(database)


def _klines(first_open_time: int, count: int) -> bytes:
    rows = [
        [t, "10", "11", "9", "10.5", "1", t + 59_999, "10", 1, "0.5", "5", "0"]
        for t in range(first_open_time, first_open_time + count * 60_000, 60_000)
    ]
    return orjson.dumps({"symbol": "OUTAGEUSDT", "interval": "1m", "klines": rows})


def _timed(
    call: httpx.Client, method: str, path: str, **kwargs: object
) -> tuple[int, float, httpx.Response]:
    started = time.monotonic()
    response = call.request(method, path, **kwargs)  # type: ignore[arg-type]
    return response.status_code, time.monotonic() - started, response


@pytest.mark.parametrize("outage", ["blackhole", "refuse"])
def test_outage_gives_fast_503_then_recovers_without_restart(
    proxied_server: tuple[RunningServer, FaultyTcpProxy], outage: Mode
) -> None:
    server, proxy = proxied_server
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        assert http.post("/data/klines", content=_klines(0, 10)).status_code == 200

        proxy.set_mode(outage)

        status, elapsed, response = _timed(http, "GET", "/health/readiness")
        assert status == 503
        assert elapsed < DEADLINE_S
        assert response.json()["status"] == "unavailable"

        status, elapsed, response = _timed(
            http, "POST", "/data/klines", content=_klines(600_000, 10)
        )
        assert status == 503, response.text
        assert elapsed < DEADLINE_S
        assert int(response.headers["retry-after"]) >= 1

        status, elapsed, _ = _timed(
            http, "GET", "/data/candles", params={"pair": "OUTAGEUSDT", "period": "1m"}
        )
        assert status == 503
        assert elapsed < DEADLINE_S

        databases = http.get("/health/databases")
        assert databases.status_code == 503
        assert databases.json()["primary"]["connected"] is False
        assert databases.json()["primary"]["last_error"]
        assert http.get("/health/liveness").status_code == 200  # the process itself is fine

        proxy.set_mode("forward")

        deadline = time.monotonic() + RECOVERY_S
        while http.get("/health/readiness").status_code != 200:
            assert time.monotonic() < deadline, "readiness did not recover"
            time.sleep(0.2)
        assert http.post("/data/klines", content=_klines(600_000, 10)).status_code == 200
        candles = http.get(
            "/data/candles", params={"pair": "OUTAGEUSDT", "period": "1m", "limit": 100}
        ).json()["candles"]
        assert len(candles) == 20  # the rejected batch was written only on the retry
    assert "Traceback" not in server.log_tail(400)


# The deadline bounds the whole unit of work, its cleanup included.

UNWIND_ALLOWANCE_S = 1.5
"""What a unit may take past its setting to unwind and answer. Generous for a busy machine,
yet below what cleanup used to add: asyncpg's "graceful" close of the hung connection alone
took 2 s more (readiness 4 s for a 2 s setting, writes 7 s for 5 s)."""


@pytest.fixture(params=["mariadb", "postgresql"])
def proxied_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ThrowawayDatabase, FaultyTcpProxy]]:
    database = create_database(request.param, tmp_path)
    proxy = FaultyTcpProxy(database.host, database.port).start()
    yield database, proxy
    proxy.stop()
    drop_database(database)


@pytest.fixture
async def hung_database(
    proxied_database: tuple[ThrowawayDatabase, FaultyTcpProxy],
) -> AsyncIterator[Database]:
    """A Database (timeouts: query 2 s, readiness 1 s, connect 1 s) whose server, reached
    through the proxy, has just stopped answering with a connection in the pool."""
    database, proxy = proxied_database
    settings = DataManagerSettings(
        database_url=SecretStr(database.url_via("127.0.0.1", proxy.port)),
        query_timeout_s=QUERY_TIMEOUT_S,
        readiness_timeout_s=1.0,
        connect_timeout_s=1.0,
    )
    db = Database(settings)
    async with db.read() as conn:
        await conn.execute(text("SELECT 1"))
    proxy.set_mode("blackhole")
    yield db
    proxy.set_mode("forward")
    await db.dispose()


async def _elapsed_until_unavailable(unit: Callable[[], Awaitable[Any]]) -> float:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await unit()
    return time.monotonic() - started


async def test_a_hung_database_fails_readiness_at_its_setting(
    hung_database: Database,
) -> None:
    db = hung_database
    timeout_s = db.settings.readiness_timeout_s
    elapsed = await _elapsed_until_unavailable(lambda: db.ping(timeout_s))
    assert elapsed < timeout_s + UNWIND_ALLOWANCE_S


async def test_a_hung_database_fails_a_write_at_the_query_timeout(
    hung_database: Database,
) -> None:
    db = hung_database

    async def write() -> None:
        async with db.write() as conn:
            await conn.execute(text("SELECT 1"))

    elapsed = await _elapsed_until_unavailable(write)
    assert elapsed < db.settings.query_timeout_s + UNWIND_ALLOWANCE_S


# The server stops the work the client gave up on.

LOCK_HOLD_S = 20.0
"""How long the test holds the row lock: far past the query timeout, below MariaDB's own
lock wait timeout (50 s), which would otherwise end the wait after all."""


@pytest.fixture(params=["mariadb", "postgresql"])
def served_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ThrowawayDatabase, RunningServer]]:
    database = create_database(request.param, tmp_path)
    server = start_data_manager(
        database.url,
        tmp_path,
        extra_env={
            "DATA_MANAGER_QUERY_TIMEOUT_S": str(QUERY_TIMEOUT_S),
            "DATA_MANAGER_CANDLE_CACHE_TTL_S": "0",
        },
    )
    yield database, server
    server.stop()
    drop_database(database)


async def test_a_write_blocked_past_the_query_timeout_is_stopped_by_the_server(
    served_database: tuple[ThrowawayDatabase, RunningServer],
) -> None:
    database, server = served_database
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        assert (await http.post("/data/klines", content=_klines(0, 1))).status_code == 200
        async with _row_locked(database, "SELECT * FROM klines FOR UPDATE") as waiting:
            blocked = await http.post("/data/klines", content=_klines(0, 1))
            assert blocked.status_code == 503, blocked.text
            deadline = time.monotonic() + LOCK_HOLD_S
            while await waiting() > 0:
                assert time.monotonic() < deadline, "the server still runs the abandoned write"
                await asyncio.sleep(0.2)
        assert (await http.post("/data/klines", content=_klines(0, 1))).status_code == 200


def _row_locked(
    database: ThrowawayDatabase, lock_sql: str
) -> Any:  # an async context manager yielding "how many statements wait on a lock"
    if database.backend == "postgresql":
        return _postgres_locked(database, lock_sql)
    return _mariadb_locked(database, lock_sql)


@contextlib.asynccontextmanager
async def _postgres_locked(
    database: ThrowawayDatabase, lock_sql: str
) -> AsyncIterator[Callable[[], Awaitable[int]]]:
    holder = await asyncpg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user="postgres", database=database.name
    )
    observer = await asyncpg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user="postgres", database=database.name
    )

    async def waiting() -> int:
        count = await observer.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
            database.name,
        )
        return int(count)

    try:
        async with holder.transaction():
            await holder.execute(lock_sql)
            yield waiting
    finally:
        await holder.close()
        await observer.close()


@contextlib.asynccontextmanager
async def _mariadb_locked(
    database: ThrowawayDatabase, lock_sql: str
) -> AsyncIterator[Callable[[], Awaitable[int]]]:
    holder = await aiomysql.connect(
        host=MARIADB_HOST, port=MARIADB_PORT, user="root", password="", db=database.name
    )
    observer = await aiomysql.connect(
        host=MARIADB_HOST, port=MARIADB_PORT, user="root", password="", autocommit=True
    )

    async def waiting() -> int:
        async with observer.cursor() as cursor:
            await cursor.execute(
                "SELECT count(*) FROM information_schema.processlist"
                " WHERE db = %s AND command = 'Query' AND id <> CONNECTION_ID()"
                " AND id <> %s",
                (database.name, holder.thread_id()),
            )
            row = await cursor.fetchone()
        return int(row[0])

    try:
        await holder.begin()
        async with holder.cursor() as cursor:
            await cursor.execute(lock_sql)
        yield waiting
    finally:
        holder.close()
        observer.close()
