"""What counts as an outage: a refused value is the client's fault, a statement the server
stopped at its time limit is a timeout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import exc

from petrosa.datamanager.api.outages import Reason, reason_of
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.database import Database, StoreUnavailable


class _DriverError(Exception):
    def __init__(self, *args: Any, sqlstate: str | None = None) -> None:
        super().__init__(*args)
        self.sqlstate = sqlstate


def _operational(original: BaseException) -> exc.DBAPIError:
    return exc.OperationalError("INSERT INTO t VALUES (?)", ("v",), original)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(DataManagerSettings(database_url=SecretStr(f"sqlite:///{tmp_path / 'o.db'}")))
    yield db
    await db.dispose()


async def test_a_value_the_database_refuses_is_raised_as_is_and_not_counted(
    database: Database,
) -> None:
    # MariaDB 4025: a CHECK (JSON_VALID) constraint failed — an OperationalError by driver type.
    refused = _operational(_DriverError(4025, "CONSTRAINT `documents.body` failed"))
    with pytest.raises(exc.OperationalError):
        async with database._guarded():
            raise refused
    assert database.status.errors_total == 0


async def test_a_lost_connection_is_an_outage_and_counted(database: Database) -> None:
    with pytest.raises(StoreUnavailable):
        async with database._guarded():
            raise _operational(_DriverError(2013, "Lost connection to server during query"))
    assert database.status.errors_total == 1


def test_a_statement_stopped_at_the_servers_time_limit_is_a_timeout() -> None:
    for original in (
        _DriverError("canceling statement due to statement timeout", sqlstate="57014"),
        _DriverError(1969, "Query execution was interrupted (max_statement_time exceeded)"),
    ):
        outage = StoreUnavailable("statement timeout")
        outage.__cause__ = _operational(original)
        assert reason_of(outage) is Reason.DATABASE_TIMEOUT
