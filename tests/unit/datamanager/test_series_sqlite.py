"""Series writes on a migrated SQLite file through the driver-level path (no server process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import exc, func, select

from petrosa.datamanager.market.stores import MarketStore
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.database import Database
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
