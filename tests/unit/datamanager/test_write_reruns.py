"""Document writes, like every other write, are rerun when the database aborts them under
contention (the one policy of petrosa.sqlsupport), instead of answering 503."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import event, exc

from petrosa.datamanager.documents.store import DocumentStore
from petrosa.datamanager.documents.values import NewDocument
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.database import Database
from petrosa.datamanager.storage.migrate import upgrade_to_head


class _Deadlock(Exception):
    """What MariaDB's driver raises for a deadlock victim (error 1213)."""


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    settings = DataManagerSettings(database_url=SecretStr(f"sqlite:///{tmp_path / 'd.db'}"))
    database = Database(settings)
    await upgrade_to_head(database)
    yield database
    await database.dispose()


def _lose_a_deadlock_once(db: Database, statement_start: str) -> list[str]:
    """The first statement starting with ``statement_start`` fails as a deadlock victim."""
    lost: list[str] = []

    @event.listens_for(db.write_engine.sync_engine, "before_cursor_execute")
    def _abort(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not lost and statement.lstrip().upper().startswith(statement_start):
            lost.append(statement)
            raise exc.OperationalError(statement, None, _Deadlock(1213, "Deadlock found"))

    return lost


async def test_a_document_insert_that_lost_a_deadlock_is_rerun(db: Database) -> None:
    store = DocumentStore(db)
    lost = _lose_a_deadlock_once(db, "INSERT INTO DOCUMENTS ")
    result = await store.insert("things", [NewDocument("a", {"v": 1}, ("body", 0))])
    assert lost
    assert result.inserted == 1
    listed = await store.list_collections()
    assert [(c.name, c.count) for c in listed.collections] == [("things", 1)]
    assert db.status.errors_total == 0  # contention is not an outage


async def test_a_document_delete_that_lost_a_deadlock_is_rerun(db: Database) -> None:
    store = DocumentStore(db)
    await store.insert("things", [NewDocument("a", {"v": 1}, ("body", 0))])
    lost = _lose_a_deadlock_once(db, "DELETE FROM DOCUMENTS ")
    result = await store.delete("things", (), many=True)
    assert lost
    assert result.deleted == 1
