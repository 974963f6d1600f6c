"""The SQL plumbing on the real servers: server-side statement limits on every session, no
parameter values in error logs, and migrations that never run without their lock."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pymysql
import pytest
from pydantic import SecretStr
from sqlalchemy import exc, text

from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.database import Database, StoreUnavailable
from petrosa.datamanager.storage.migrate import LOCK_NAME, PG_LOCK_KEY, current_revision
from tests.support.server import free_port
from tests.support.services import (
    BACKENDS,
    MARIADB_HOST,
    MARIADB_PORT,
    POSTGRES_HOST,
    POSTGRES_PORT,
    ThrowawayDatabase,
    create_database,
    drop_database,
)

pytestmark = pytest.mark.integration

SERVERS = ("mariadb", "postgresql")
SECRET = "s3cret-parameter-value"
MIGRATE_GUARD_S = 120.0
"""Ends a migrate run that waits on the lock for good (the defect), far past the lock wait."""


@pytest.fixture(params=SERVERS)
def server_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThrowawayDatabase]:
    database = create_database(request.param, tmp_path)
    yield database
    drop_database(database)


@pytest.fixture(params=BACKENDS)
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThrowawayDatabase]:
    database = create_database(request.param, tmp_path)
    yield database
    drop_database(database)


def _settings(database: ThrowawayDatabase, **overrides: Any) -> DataManagerSettings:
    return DataManagerSettings(database_url=SecretStr(database.url), **overrides)


@pytest.fixture
async def open_db(server_database: ThrowawayDatabase) -> AsyncIterator[Database]:
    db = Database(_settings(server_database, query_timeout_s=2.5))
    yield db
    await db.dispose()


async def test_every_pooled_session_carries_the_server_side_statement_limit(
    open_db: Database,
) -> None:
    """The query timeout (2.5 s) is also the server's limit: it stops work the client left."""
    async with open_db.read() as conn:
        if open_db.dialect == "postgresql":
            assert await conn.scalar(text("SHOW statement_timeout")) == "2500ms"
        else:
            assert float(await conn.scalar(text("SELECT @@max_statement_time"))) == 2.5


async def test_a_failing_statement_is_logged_without_its_parameter_values(
    any_database: ThrowawayDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(_settings(any_database))
    try:
        with pytest.raises((StoreUnavailable, exc.ProgrammingError)) as caught:
            async with db.write() as conn:
                await conn.execute(text("INSERT INTO no_such_table (v) VALUES (:v)"), {"v": SECRET})
    finally:
        await db.dispose()
    with caplog.at_level(logging.ERROR):
        logging.getLogger("crash").error("request failed", exc_info=caught.value)
    assert "no_such_table" in caplog.text  # the statement itself is still there to debug
    assert SECRET not in caplog.text


async def test_migrate_stops_with_one_clear_line_while_another_process_holds_the_lock(
    server_database: ThrowawayDatabase,
) -> None:
    release = await _hold_migration_lock(server_database)
    try:
        code, stderr = await _migrate(server_database, lock_wait_s=0.5)
    finally:
        await release()
    assert code != 0
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: another process held the migration")
    db = Database(_settings(server_database))
    try:
        assert await current_revision(db) is None  # nothing was migrated unlocked
    finally:
        await db.dispose()

    code, stderr = await _migrate(server_database, lock_wait_s=0.5)
    assert code == 0, stderr  # with the lock free, the same command migrates


async def test_serve_stops_with_one_clear_line_and_exit_2_while_the_lock_is_held(
    server_database: ThrowawayDatabase,
) -> None:
    release = await _hold_migration_lock(server_database)
    try:
        code, stderr = await _migrate(
            server_database, lock_wait_s=0.5, command=("serve", "--port", str(free_port()))
        )
    finally:
        await release()
    assert code == 2, stderr  # as `migrate` does: a usage/configuration error
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: another process held the migration")


async def _migrate(
    database: ThrowawayDatabase, *, lock_wait_s: float, command: tuple[str, ...] = ("migrate",)
) -> tuple[int, str]:
    """``petrosa data-manager <command>`` (``migrate``, or ``serve``: it migrates first) on
    ``database``, until it exits; its exit code and stderr."""
    env = {
        **os.environ,
        "DATA_MANAGER_DATABASE_URL": database.url,
        "DATA_MANAGER_MIGRATION_LOCK_TIMEOUT_S": str(lock_wait_s),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "petrosa.cli.main",
        "data-manager",
        *command,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), MIGRATE_GUARD_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail("migrate kept waiting on the migration lock")
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def _hold_migration_lock(database: ThrowawayDatabase) -> Any:
    """Take the migration lock on a connection of our own; returns the release call."""
    if database.backend == "postgresql":
        pg = await asyncpg.connect(
            host=POSTGRES_HOST, port=POSTGRES_PORT, user="postgres", database=database.name
        )
        await pg.execute(f"SELECT pg_advisory_lock({PG_LOCK_KEY})")
        return pg.close
    maria = pymysql.connect(
        host=MARIADB_HOST, port=MARIADB_PORT, user="root", password="", database=database.name
    )
    with maria.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, 0)", (LOCK_NAME,))
        assert cursor.fetchone() == (1,)

    async def release() -> None:
        maria.close()

    return release
