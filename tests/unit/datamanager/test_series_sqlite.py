"""Series writes on a migrated SQLite file through the plain writer (no server process)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import exc, func, select

from petrosa.datamanager.documents.store import DocumentStore
from petrosa.datamanager.documents.values import NewDocument
from petrosa.datamanager.market.sqlite_upsert import ROWS_PER_STATEMENT
from petrosa.datamanager.market.stores import MarketStore
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.database import Database, StoreUnavailable
from petrosa.datamanager.storage.market_schema import klines
from petrosa.datamanager.storage.migrate import upgrade_to_head

SERIES = ("futures", "BTCUSDT", "1m")
MINUTE = 60_000


def kline(index: int) -> tuple[Any, ...]:
    open_time = index * MINUTE
    return (open_time, 1.0, 2.0, 0.5, 1.5, 10.0, open_time + MINUTE - 1, 15.0, 3, 5.0, 7.0)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[MarketStore]:
    settings = DataManagerSettings(database_url=SecretStr(f"sqlite:///{tmp_path / 't.db'}"))
    database = Database(settings)
    await upgrade_to_head(database)
    yield MarketStore(database)
    await database.dispose()


async def stored_rows(store: MarketStore) -> int:
    async with store.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(klines))).scalar_one())


async def test_a_statement_the_driver_refuses_is_sqlalchemys_error_and_writes_nothing(
    store: MarketStore,
) -> None:
    batch = [kline(i) for i in range(10)]
    batch[7] = (batch[7][0], None, *batch[7][2:])  # NOT NULL open: refused by SQLite itself
    with pytest.raises(exc.IntegrityError) as caught:
        await store.klines.write(SERIES, batch, key_step=MINUTE)
    assert "NOT NULL" in str(caught.value.orig)
    assert "[parameters" not in str(caught.value)  # a failed batch's rows never reach a log
    assert await stored_rows(store) == 0
    result = await store.klines.write(SERIES, [kline(i) for i in range(10)], key_step=MINUTE)
    assert (result.inserted, result.updated) == (10, 0)  # the writer connection is usable


async def test_counts_on_the_driver_path_match_what_is_stored(store: MarketStore) -> None:
    first = await store.klines.write(SERIES, [kline(i) for i in range(0, 100)], key_step=MINUTE)
    dense = await store.klines.write(SERIES, [kline(i) for i in range(50, 150)], key_step=MINUTE)
    sparse = await store.klines.write(
        SERIES, [kline(i) for i in range(0, 400, 4)], key_step=MINUTE
    )  # keys 4 steps apart: counted with an IN list; 0-148 stored (38 keys), 152-396 new (62)
    assert (first.inserted, first.updated) == (100, 0)
    assert (dense.inserted, dense.updated) == (50, 50)
    assert (sparse.received, sparse.inserted, sparse.updated) == (100, 62, 38)
    assert await stored_rows(store) == 150 + 62


async def stored(store: MarketStore) -> list[tuple[Any, ...]]:
    async with store.db.read() as conn:
        query = select(*(klines.c[c] for c in store.klines.spec.row_columns)).order_by(
            klines.c.open_time
        )
        return [tuple(row) for row in await conn.execute(query)]


@pytest.mark.parametrize("count", [1, ROWS_PER_STATEMENT - 1, 2 * ROWS_PER_STATEMENT + 37])
async def test_batches_of_any_size_are_stored_whole(store: MarketStore, count: int) -> None:
    batch = [kline(i) for i in range(count)]
    result = await store.klines.write(SERIES, batch, key_step=MINUTE)
    assert (result.received, result.inserted, result.updated) == (count, count, 0)
    assert await stored(store) == batch


async def test_rows_sent_again_count_as_updated_and_changed_values_replace_the_stored_ones(
    store: MarketStore,
) -> None:
    batch = [kline(i) for i in range(150)]
    await store.klines.write(SERIES, batch, key_step=MINUTE)
    same = await store.klines.write(SERIES, batch, key_step=MINUTE)
    assert (same.inserted, same.updated) == (0, 150)  # unchanged rows are counted, not rewritten
    changed = [(*row[:4], row[4] + 0.25, *row[5:]) if row[0] % 2 else row for row in batch]
    result = await store.klines.write(SERIES, changed, key_step=MINUTE)
    assert (result.inserted, result.updated) == (0, 150)
    assert await stored(store) == changed


async def test_a_repeated_key_in_a_batch_keeps_its_last_row(store: MarketStore) -> None:
    first, again = kline(3), (*kline(3)[:4], 1.75, *kline(3)[5:])
    result = await store.klines.write(SERIES, [first, kline(4), again], key_step=MINUTE)
    assert (result.received, result.inserted, result.updated) == (3, 2, 0)
    assert await stored(store) == [again, kline(4)]


async def test_a_null_value_and_a_value_replace_each_other(store: MarketStore) -> None:
    async def mark_price() -> Any:
        page = await store.funding.read(("BTCUSDT",), limit=1)
        return page.rows[0][2]

    await store.funding.write(("BTCUSDT",), [(0, 0.0001, None)])
    assert await mark_price() is None
    await store.funding.write(("BTCUSDT",), [(0, 0.0001, 101.5)])
    assert await mark_price() == 101.5
    await store.funding.write(("BTCUSDT",), [(0, 0.0001, None)])
    assert await mark_price() is None


async def test_a_write_behind_another_writers_lock_is_unavailable_at_the_deadline(
    tmp_path: Path,
) -> None:
    path = tmp_path / "locked.db"
    settings = DataManagerSettings(database_url=SecretStr(f"sqlite:///{path}"), query_timeout_s=0.3)
    database = Database(settings)
    await upgrade_to_head(database)
    store = MarketStore(database)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(store.klines.write(SERIES, [kline(0)]), 60)
    finally:
        holder.rollback()
        holder.close()
    result = await store.klines.write(SERIES, [kline(0)])
    assert (result.inserted, result.updated) == (1, 0)
    await database.dispose()


async def test_ingest_and_other_writes_take_turns_without_errors(store: MarketStore) -> None:
    """Both SQLite writers (the plain one for ingest, SQLAlchemy's for the rest) at once."""
    documents = DocumentStore(store.db)

    async def ingest(first: int) -> None:
        for start in range(first, first + 2_000, 250):
            batch = [kline(i) for i in range(start, start + 250)]
            await store.klines.write(SERIES, batch, key_step=MINUTE)

    async def insert_documents() -> None:
        for n in range(20):
            await documents.insert("notes", [NewDocument(f"n{n}", {"n": n}, ("body", 0))])

    await asyncio.gather(ingest(0), ingest(2_000), insert_documents(), insert_documents())
    assert await stored_rows(store) == 4_000
    listed = await documents.list_collections()
    assert [(c.name, c.count) for c in listed.collections] == [("notes", 20)]
