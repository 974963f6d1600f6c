"""Move a test database to a given Alembic revision, up or down, outside any service."""

from __future__ import annotations

from typing import Any

from alembic import command

from petrosa.datamanager.storage.database import Database
from petrosa.datamanager.storage.migrate import alembic_config


async def migrate(db: Database, revision: str, *, down: bool = False) -> None:
    config = alembic_config()

    def run(sync_conn: Any) -> None:
        config.attributes["connection"] = sync_conn
        (command.downgrade if down else command.upgrade)(config, revision)

    async with db.write_engine.connect() as conn:
        await conn.run_sync(run)
        await conn.commit()
