"""Apply Alembic migrations to the configured database (``migrate`` and service start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text

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
