"""Apply Alembic migrations to the configured database (``migrate`` and service start).

Replicas starting together are serialized by a database lock (PostgreSQL advisory lock,
MariaDB/MySQL ``GET_LOCK``; SQLite needs none). The lock is awaited at most
``migration_lock_timeout_s``; a replica that does not get it stops with
:class:`MigrationLockTimeout` rather than migrate beside another. Migrations may take long
(backfills): their session runs without the statement time limit, and is closed afterwards
so the pool never hands the unlimited session to a request.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from petrosa.datamanager.storage.database import Database, StoreUnavailable

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
LOCK_NAME = "petrosa_migrations"
PG_LOCK_KEY = 7_318_002_115  # arbitrary, constant: serializes replicas migrating at once
PG_LOCK_POLL_S = 0.25


class MigrationLockTimeout(StoreUnavailable):
    """Another process held the migration lock for longer than the configured wait."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade_to_head(db: Database) -> None:
    """Bring the schema to the newest revision of every branch, under the migration lock."""
    config = alembic_config()

    def run(sync_conn: Any) -> None:
        config.attributes["connection"] = sync_conn
        command.upgrade(config, "heads")

    async with db.write_engine.connect() as conn:
        if db.is_sqlite:
            await conn.run_sync(run)
            await conn.commit()
            return
        try:
            await _lift_statement_limit(conn, db.dialect)
            await _take_lock(conn, db.dialect, db.settings.migration_lock_timeout_s)
            try:
                await conn.run_sync(run)
                await conn.commit()
            finally:
                await conn.rollback()
                await _release_lock(conn, db.dialect)
        finally:
            await conn.invalidate()  # its session has no statement limit: never reuse it


async def _lift_statement_limit(conn: AsyncConnection, dialect: str) -> None:
    if dialect == "postgresql":
        await conn.execute(text("SET statement_timeout = 0"))
    else:
        await conn.execute(text("SET SESSION max_statement_time = 0"))
    await conn.commit()


async def _take_lock(conn: AsyncConnection, dialect: str, timeout_s: float) -> None:
    if dialect == "postgresql":
        deadline = time.monotonic() + timeout_s
        while True:
            taken = await conn.scalar(text(f"SELECT pg_try_advisory_lock({PG_LOCK_KEY})"))
            await conn.commit()
            if taken is True:
                return
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(PG_LOCK_POLL_S, max(0.0, deadline - time.monotonic())))
    else:
        taken = await conn.scalar(
            text("SELECT GET_LOCK(:name, :timeout)"), {"name": LOCK_NAME, "timeout": timeout_s}
        )
        await conn.commit()
        if taken == 1:
            return
    raise MigrationLockTimeout(
        f"another process held the migration lock for over {timeout_s:g}s;"
        " not migrating (retry when it has finished)"
    )


async def _release_lock(conn: AsyncConnection, dialect: str) -> None:
    if dialect == "postgresql":
        await conn.execute(text(f"SELECT pg_advisory_unlock({PG_LOCK_KEY})"))
    else:
        await conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
    await conn.commit()


async def current_revision(db: Database) -> str | None:
    async with db.read() as conn:
        try:
            result = await conn.execute(text("SELECT version_num FROM alembic_version"))
        except Exception:
            return None
        row = result.first()
        return None if row is None else str(row[0])


async def missing_heads(db: Database) -> set[str]:
    """The newest revisions of this version's migrations that the database has not reached
    (empty: the schema is current, or newer than this version knows)."""
    scripts = ScriptDirectory.from_config(alembic_config())
    heads = set(scripts.get_heads())
    async with db.read() as conn:
        if not await conn.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
            return heads
        rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        stored = {str(row[0]) for row in rows}
    known = {script.revision for script in scripts.walk_revisions()}
    if stored - known:
        return set()  # a newer version migrated further: its schema serves this one too
    return heads - stored
