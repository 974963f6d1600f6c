"""Trading-state stores on a migrated SQLite file, with an injected clock (no server process)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import SecretStr
from sqlalchemy import MetaData, exc, func, select

from petrosa.contracts.trading import (
    PositionClose,
    PositionIn,
    PositionStatus,
    RealizedPnlIn,
)
from petrosa.datamanager.errors import Conflict, InvalidInput, NotFound
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage import trading_schema
from petrosa.datamanager.storage.database import Database, StoreUnavailable
from petrosa.datamanager.storage.migrate import upgrade_to_head
from petrosa.datamanager.trading.config import ConfigStore
from petrosa.datamanager.trading.pnl import DailyPnlStore
from petrosa.datamanager.trading.positions import PositionStore
from petrosa.datamanager.trading.transactions import run_write

T0 = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
DAY = dt.date(2024, 3, 1)
QUERY_TIMEOUT_S = 120.0
"""Far above the 5 s default: 90 concurrent writes queue for the one SQLite writer, and on a
busy machine the last waits longer than 5 s (StoreUnavailable, not a lost write)."""
TRADING_TABLES = (
    trading_schema.positions, trading_schema.daily_pnl, trading_schema.pnl_events,
    trading_schema.app_config, trading_schema.strategy_config, trading_schema.config_audit,
)  # fmt: skip


class Clock:
    """A clock that advances one second per reading."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    settings = DataManagerSettings(
        database_url=SecretStr(f"sqlite:///{tmp_path / 't.db'}"), query_timeout_s=QUERY_TIMEOUT_S
    )
    database = Database(settings)
    await upgrade_to_head(database)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def position(**changes: Any) -> PositionIn:
    fields: dict[str, Any] = {
        "strategy_id": "s1",
        "symbol": "BTCUSDT",
        "side": "short",
        "quantity": Decimal("1.5"),
        "entry_price": Decimal("100"),
        "opened_at": T0,
        "metadata": {"b": 1, "a": 2},
    }
    return PositionIn.model_validate({**fields, **changes})


async def test_migration_matches_the_table_definitions(db: Database) -> None:
    """Revisions 0003 and 0004 create exactly the tables, columns, types and indexes."""
    expected = MetaData()
    for table in TRADING_TABLES:
        table.to_metadata(expected)
    names = {table.name for table in TRADING_TABLES}

    def differences(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(
            sync_conn,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: kind != "table" or name in names,
            },
        )
        found: list[Any] = compare_metadata(context, expected)
        return found

    async with db.read() as conn:
        assert await conn.run_sync(differences) == []


async def test_upsert_creates_then_ignores_equal_content(db: Database, clock: Clock) -> None:
    store = PositionStore(db, clock=clock)
    created = await store.upsert("p1", position())
    assert (created.created, created.changed) == (True, True)
    assert created.position.updated_at == T0 + dt.timedelta(seconds=1)

    same = await store.upsert("p1", position(metadata={"a": 2, "b": 1}, quantity="1.50"))
    assert (same.created, same.changed) == (False, False)
    assert same.position == created.position

    moved = await store.upsert("p1", position(entry_price="101"))
    assert moved.changed is True
    assert moved.position.updated_at == T0 + dt.timedelta(seconds=3)
    assert await store.get("p1") == moved.position


async def test_close_once_then_no_op_and_no_reopen(db: Database, clock: Clock) -> None:
    store = PositionStore(db, clock=clock)
    await store.upsert("p1", position(unrealized_pnl="4"))
    first = await store.close("p1", PositionClose(exit_price=Decimal(99), closed_at=T0))
    assert first.changed is True
    assert first.position.unrealized_pnl == 0
    assert first.position.realized_pnl == 0  # not given: kept
    again = await store.close("p1", PositionClose(exit_price=Decimal(1), closed_at=T0))
    assert again.changed is False
    assert again.position == first.position
    with pytest.raises(Conflict):
        await store.upsert("p1", position())
    # A closed position may still be corrected while it stays closed.
    corrected = await store.upsert(
        "p1", position(status="closed", closed_at=T0, exit_price="99", fees="0.1")
    )
    assert corrected.changed is True
    assert corrected.position.fees == Decimal("0.1")


async def test_close_rejects_a_time_before_opening_and_unknown_ids(
    db: Database, clock: Clock
) -> None:
    store = PositionStore(db, clock=clock)
    with pytest.raises(NotFound):
        await store.close("nope", PositionClose(exit_price=Decimal(1), closed_at=T0))
    await store.upsert("p1", position())
    with pytest.raises(InvalidInput) as caught:
        await store.close(
            "p1", PositionClose(exit_price=Decimal(1), closed_at=T0 - dt.timedelta(days=1))
        )
    assert caught.value.loc == ["body", "closed_at"]
    assert (await store.get("p1")).status is PositionStatus.OPEN


async def test_find_filters_and_orders_newest_first(db: Database, clock: Clock) -> None:
    store = PositionStore(db, clock=clock)
    for index in range(4):
        later = T0 + dt.timedelta(hours=index)
        await store.upsert(f"p{index}", position(opened_at=later, strategy_id=f"s{index % 2}"))
    found = await store.find(strategy_id="s0", limit=10)
    assert [p.position_id for p in found] == ["p2", "p0"]
    newest = await store.find(status=PositionStatus.OPEN, limit=1)
    assert [p.position_id for p in newest] == ["p3"]
    assert await store.find(symbol="ETHUSDT", limit=10) == []


def event(event_id: str, amount: str, day: dt.date = DAY) -> RealizedPnlIn:
    occurred = dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC)
    return RealizedPnlIn(event_id=event_id, amount=Decimal(amount), occurred_at=occurred)


async def test_events_count_once_and_set_replaces_the_total(db: Database, clock: Clock) -> None:
    store = DailyPnlStore(db, clock=clock)
    assert (await store.get(DAY)).total == 0
    assert (await store.record(event("e1", "1.25"))).recorded is True
    repeat = await store.record(event("e1", "1000"))  # same id, other body: still once
    assert repeat.recorded is False
    assert (repeat.daily.total, repeat.daily.event_count) == (Decimal("1.25"), 1)

    moved_day = await store.record(event("e1", "1.25", DAY + dt.timedelta(days=1)))
    assert moved_day.recorded is False
    assert moved_day.daily.date == DAY  # where the id was first recorded

    set_result = await store.set(DAY, Decimal("-10"))
    assert (set_result.total, set_result.event_count) == (Decimal("-10"), 1)
    stamped = set_result.updated_at
    assert (await store.set(DAY, Decimal("-10.000"))).updated_at == stamped
    await store.record(event("e2", "0.5"))
    assert (await store.get(DAY)).total == Decimal("-9.5")
    async with db.read() as conn:
        count = await conn.scalar(select(func.count()).select_from(trading_schema.pnl_events))
    assert count == 2


async def test_a_total_that_would_overflow_is_refused_and_nothing_kept(
    db: Database, clock: Clock
) -> None:
    store = DailyPnlStore(db, clock=clock)
    await store.set(DAY, Decimal("99999999999999999999"))
    with pytest.raises(InvalidInput) as caught:
        await store.record(event("big", "1"))
    assert caught.value.loc == ["body", "amount"]
    assert (await store.record(event("big", "-1"))).recorded is True  # the id was not kept


async def test_concurrent_recorders_lose_nothing(db: Database, clock: Clock) -> None:
    store = DailyPnlStore(db, clock=clock)
    amounts = [f"0.{i:018d}" for i in range(1, 31)]
    sends = [event(f"c{i}", a) for i, a in enumerate(amounts) for _ in range(3)]
    results = await asyncio.gather(*(store.record(e) for e in sends))
    assert sum(r.recorded for r in results) == 30
    daily = await store.get(DAY)
    assert daily.total == sum((Decimal(a) for a in amounts), Decimal(0))
    assert daily.event_count == 30


async def test_app_config_audits_changes_only(db: Database, clock: Clock) -> None:
    store = ConfigStore(db, clock=clock)
    with pytest.raises(NotFound):
        await store.get_app("k")
    first = await store.set_app("k", [1, {"x": None}], changed_by="a")
    assert (first.version, first.updated_at) == (1, T0 + dt.timedelta(seconds=1))
    assert await store.set_app("k", [1, {"x": None}], changed_by="b") == first
    second = await store.set_app("k", [1], changed_by="b")
    assert second.version == 2
    entries = await store.audit(scope="app", key="k", limit=10)
    assert [(e.old_value, e.new_value, e.changed_by) for e in entries] == [
        ([1, {"x": None}], [1], "b"),
        (None, [1, {"x": None}], "a"),
    ]


async def test_strategy_config_merges_and_audits_per_parameter(db: Database, clock: Clock) -> None:
    store = ConfigStore(db, clock=clock)
    with pytest.raises(NotFound):
        await store.get_strategy("s1", "BTCUSDT")
    override = await store.set_strategy("s1", "BTCUSDT", {"size": 2}, changed_by="a")
    assert (override.parameters, override.global_parameters) == ({"size": 2}, {})
    await store.set_strategy("s1", None, {"size": 1, "mode": "x"}, changed_by="a")
    merged = await store.get_strategy("s1", "BTCUSDT")
    assert merged.parameters == {"size": 2, "mode": "x"}
    assert merged.version == 2
    assert merged.updated_at == T0 + dt.timedelta(seconds=2)

    await store.set_strategy("s1", None, {"size": 1}, changed_by="b")
    removed = await store.audit(scope="strategy:s1", limit=1)
    assert [(e.key, e.old_value, e.new_value, e.version) for e in removed] == [
        ("mode", "x", None, 2)
    ]
    assert len(await store.audit(key="size", limit=10)) == 2


async def test_run_write_reruns_a_deadlock_victim_then_gives_up(db: Database) -> None:
    calls = 0

    async def flaky(_conn: Any) -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise exc.OperationalError("UPDATE ...", {}, _Deadlock(1213, "Deadlock found"))
        return "done"

    assert await run_write(db, flaky) == "done"
    assert calls == 3

    async def always(_conn: Any) -> str:
        raise exc.OperationalError("UPDATE ...", {}, _Deadlock(1213, "Deadlock found"))

    with pytest.raises(StoreUnavailable, match="conflicting"):
        await run_write(db, always)
    assert db.status.errors_total == 0  # contention is not an outage


class _Deadlock(Exception):
    pass
