"""Values a database refuses are the client's fault: 422 with a reason code, no driver text;
and a write the database refuses leaves nothing behind, not even a new collection.

Uses the real drivers on each backend (SQLite file, MariaDB, PostgreSQL): statements that
bypass the edge validation make each engine refuse a value its own way, and the errors
they raise must all be classified as data errors and answered as 422s that name neither
the schema nor the database.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import exc, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from petrosa.datamanager.api.errors import install_error_handlers
from petrosa.datamanager.data_errors import data_error_code
from petrosa.datamanager.documents.store import DocumentStore
from petrosa.datamanager.documents.values import NewDocument
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.database import Database, StoreUnavailable
from petrosa.datamanager.storage.documents_schema import document_collections, documents
from petrosa.datamanager.storage.market_schema import klines
from petrosa.datamanager.storage.trading_schema import app_config
from tests.support.server import RunningServer
from tests.support.services import ThrowawayDatabase

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
KLINE = {
    "market": "futures", "symbol": "REFUSED", "interval": "1m", "open": 1, "high": 1,
    "low": 1, "close": 1, "volume": 1, "close_time": 1, "quote_volume": 1, "trades": 1,
    "taker_buy_base_volume": 1, "taker_buy_quote_volume": 1,
}  # fmt: skip
Statement = Callable[[AsyncConnection], Awaitable[Any]]


def config_row(key: str) -> dict[str, Any]:
    return {
        "config_key": key, "value_json": "1", "version": 1, "write_id": "w",
        "updated_at": NOW, "updated_by": "t",
    }  # fmt: skip


REFUSABLE: dict[str, Statement] = {
    "integer past 64 bits": lambda c: c.execute(insert(klines).values(open_time=2**63, **KLINE)),
    "bound past 64 bits": lambda c: c.execute(klines.select().where(klines.c.open_time >= 2**63)),
    "NUL in text": lambda c: c.execute(insert(app_config).values(config_row("k\x00"))),
    "lone surrogate in text": lambda c: c.execute(insert(app_config).values(config_row("\ud800"))),
    "NUL in JSON": lambda c: c.execute(
        insert(documents).values(collection="refused", doc_id="d1", body={"s": "\x00"})
    ),
    "lone surrogate in JSON": lambda c: c.execute(
        insert(documents).values(collection="refused", doc_id="d2", body={"s": "\ud800"})
    ),
    "invalid JSON text": lambda c: c.execute(
        text("INSERT INTO documents (collection, doc_id, body) VALUES ('refused', 'd3', '{x')")
    ),
    "NULL in a NOT NULL column": lambda c: c.execute(
        insert(documents).values(collection="refused", doc_id=None, body={})
    ),
}


REFUSED_BY = {
    # SQLite keeps NUL and any JSON text; Python's sqlite3 refuses what it cannot bind.
    "sqlite": {
        "integer past 64 bits", "bound past 64 bits", "lone surrogate in text",
        "NULL in a NOT NULL column",
    },
    # MariaDB compares past 64 bits and keeps NUL; its JSON_VALID check refuses the rest
    # (error 4025, which PyMySQL reports as an OperationalError: "server gone" otherwise).
    "mariadb": {
        "integer past 64 bits", "lone surrogate in text", "lone surrogate in JSON",
        "invalid JSON text", "NULL in a NOT NULL column",
    },
    "postgresql": set(REFUSABLE),
}  # fmt: skip


@pytest.fixture
async def database(
    backend_database: ThrowawayDatabase, dm_server: RunningServer
) -> AsyncIterator[Database]:
    """The session's database (migrated by its Data Manager), reached directly."""
    db = Database(DataManagerSettings(database_url=SecretStr(backend_database.url)))
    async with db.write() as conn:
        exists = await conn.execute(
            document_collections.select().where(document_collections.c.name == "refused")
        )
        if exists.first() is None:
            await conn.execute(
                insert(document_collections).values(name="refused", unique_key=None, created_at=NOW)
            )
    yield db
    await db.dispose()


async def refusal(db: Database, statement: Statement) -> BaseException | None:
    try:
        async with db.write() as conn:
            await statement(conn)
            raise _RolledBack
    except _RolledBack:
        return None
    except Exception as error:
        return error


class _RolledBack(Exception):
    """Undoes a statement the engine accepted (SQLite keeps NUL, for one)."""


async def test_every_refused_value_is_a_data_error_answered_422_without_driver_text(
    database: Database, backend_database: ThrowawayDatabase
) -> None:
    refused: dict[str, BaseException] = {}
    for case, statement in REFUSABLE.items():
        if (error := await refusal(database, statement)) is not None:
            refused[case] = error
    assert set(refused) == REFUSED_BY[backend_database.backend]

    app = FastAPI()
    install_error_handlers(app, retry_after_s=1)
    raised: list[BaseException] = []

    @app.post("/write")
    async def _write() -> None:
        raise raised[-1]

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dm") as http:
        for case, error in refused.items():
            code = data_error_code(error)
            assert code is not None, f"{case}: {error!r}"
            if not isinstance(error, exc.DBAPIError | StoreUnavailable):
                # Python's own refusal while binding (OverflowError, UnicodeEncodeError):
                # the storage layer does not wrap it, so it never reaches these handlers.
                continue
            raised.append(error)
            response = await http.post("/write")
            assert (response.status_code, response.json()["code"]) == (422, code), case
            for secret in (backend_database.name, "documents", "app_config", "klines", "SQL"):
                assert secret not in response.text, (case, response.text)


async def test_a_refused_first_write_leaves_no_empty_collection(database: Database) -> None:
    store = DocumentStore(database)
    name = f"first_{uuid.uuid4().hex[:12]}"
    valid = NewDocument("fine", {"x": 1}, ("body", "documents", 0))
    refused = NewDocument(None, {"x": 2}, ("body", "documents", 1))  # type: ignore[arg-type]
    with pytest.raises(exc.IntegrityError) as raised:
        await store.insert(name, [valid, refused])
    assert data_error_code(raised.value) is not None
    listed = await store.list_collections()
    assert name not in {collection.name for collection in listed.collections}

    result = await store.insert(name, [valid])
    assert (result.inserted, result.ids) == (1, ["fine"])
