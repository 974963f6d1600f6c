"""Apply Alembic migrations to the configured database (``migrate`` and service start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from petrosa.datamanager.storage.database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_LOCK_NAME = "petrosa_migrations"
_PG_LOCK_KEY = 7_318_002_115  # arbitrary, constant: serializes replicas migrating at once


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade_to_head(db: Database) -> None:
    """Bring the schema to the newest revision of every branch.

    Safe when several replicas start together: a database lock serializes them.
    """
    config = alembic_config()

    def run(sync_conn: Any) -> None:
        config.attributes["connection"] = sync_conn
        command.upgrade(config, "heads")

    async with db.write_engine.connect() as conn:
        if db.dialect == "postgresql":
            await conn.execute(text(f"SELECT pg_advisory_lock({_PG_LOCK_KEY})"))
        elif db.dialect == "mysql":
            await conn.execute(text(f"SELECT GET_LOCK('{_LOCK_NAME}', 60)"))
        await conn.commit()
        try:
            await conn.run_sync(run)
            await conn.commit()
        finally:
            if db.dialect == "postgresql":
                await conn.execute(text(f"SELECT pg_advisory_unlock({_PG_LOCK_KEY})"))
            elif db.dialect == "mysql":
                await conn.execute(text(f"SELECT RELEASE_LOCK('{_LOCK_NAME}')"))
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
