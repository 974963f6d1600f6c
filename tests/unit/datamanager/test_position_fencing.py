"""Fencing tokens on position writes: the rule, then the store on a migrated SQLite file."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from petrosa.contracts.trading import PositionClose, PositionStatus
from petrosa.datamanager.errors import STALE_FENCE, Conflict, StaleFence
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.database import Database
from petrosa.datamanager.storage.migrate import upgrade_to_head
from petrosa.datamanager.trading.fencing import fence_after_write
from petrosa.datamanager.trading.positions import PositionStore
from tests.unit.datamanager.test_trading_stores import position

T0 = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
CLOSE = PositionClose(exit_price=Decimal("110"), closed_at=T0 + dt.timedelta(hours=1))


@pytest.mark.parametrize(
    ("stored", "offered", "kept"),
    [
        (None, None, None),
        (None, 0, 0),
        (None, 5, 5),
        (5, 5, 5),
        (5, 6, 6),
        (5, None, 5),
    ],
)
def test_an_accepted_write_keeps_the_highest_token(
    stored: int | None, offered: int | None, kept: int | None
) -> None:
    assert fence_after_write("p1", stored=stored, offered=offered) == kept


def test_an_older_token_is_stale() -> None:
    with pytest.raises(StaleFence) as raised:
        fence_after_write("p1", stored=7, offered=4)
    error = raised.value
    assert isinstance(error, Conflict)
    assert error.status_code == 409
    assert str(error) == "stale fencing token 4 < 7 for position 'p1'"
    assert error.body_fields() == {"code": STALE_FENCE, "fence": 4, "stored_fence": 7}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[PositionStore]:
    settings = DataManagerSettings(database_url=SecretStr(f"sqlite:///{tmp_path / 't.db'}"))
    database = Database(settings)
    await upgrade_to_head(database)
    yield PositionStore(database)
    await database.dispose()


async def test_upsert_stores_the_token_and_refuses_an_older_one(store: PositionStore) -> None:
    created = await store.upsert("p1", position(), fence=5)
    assert (created.created, created.fence) == (True, 5)

    with pytest.raises(StaleFence):
        await store.upsert("p1", position(quantity="2"), fence=4)
    assert await store.get("p1") == created.position

    again = await store.upsert("p1", position(quantity="2"), fence=5)
    assert (again.changed, again.fence, again.position.quantity) == (True, 5, Decimal(2))


async def test_a_newer_token_on_equal_content_is_stored(store: PositionStore) -> None:
    first = await store.upsert("p1", position(), fence=5)
    same = await store.upsert("p1", position(), fence=5)
    assert (same.changed, same.position) == (False, first.position)

    raised = await store.upsert("p1", position(), fence=6)
    assert (raised.changed, raised.fence) == (True, 6)
    with pytest.raises(StaleFence):
        await store.upsert("p1", position(), fence=5)


async def test_an_unfenced_write_applies_and_keeps_the_token(store: PositionStore) -> None:
    await store.upsert("p1", position(), fence=5)
    unfenced = await store.upsert("p1", position(quantity="3"))
    assert (unfenced.changed, unfenced.fence) == (True, 5)
    closed = await store.close("p1", CLOSE)
    assert (closed.position.status, closed.fence) == (PositionStatus.CLOSED, 5)


async def test_a_stale_token_is_refused_before_the_reopening_check(store: PositionStore) -> None:
    await store.upsert("p1", position(), fence=5)
    await store.close("p1", CLOSE, fence=5)
    with pytest.raises(StaleFence):
        await store.upsert("p1", position(), fence=4)


async def test_close_follows_the_same_rule(store: PositionStore) -> None:
    await store.upsert("p1", position(), fence=5)
    with pytest.raises(StaleFence):
        await store.close("p1", CLOSE, fence=4)
    assert (await store.get("p1")).status is PositionStatus.OPEN

    closed = await store.close("p1", CLOSE, fence=6)
    assert (closed.changed, closed.fence) == (True, 6)
    repeat = await store.close("p1", CLOSE, fence=6)
    assert (repeat.changed, repeat.position) == (False, closed.position)

    # A successor's no-op close still records its token, shutting out the predecessor.
    successor = await store.close("p1", CLOSE, fence=7)
    assert (successor.changed, successor.fence) == (True, 7)
    assert successor.position.model_dump(exclude={"updated_at"}) == closed.position.model_dump(
        exclude={"updated_at"}
    )
    with pytest.raises(StaleFence):
        await store.close("p1", CLOSE, fence=6)
