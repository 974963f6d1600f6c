"""Fencing tokens on position writes, against a real Data Manager on every backend.

Servers: the session's Data Manager process on a SQLite file, MariaDB and PostgreSQL (the
``client``/``raw`` fixtures); the migration test makes its own database on each backend and
starts its own Data Manager on it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import insert, inspect, select

from petrosa.client import (
    ConflictError,
    DataManagerClient,
    StaleFenceError,
    ValidationError,
)
from petrosa.contracts.trading import Position, PositionClose, PositionIn, PositionStatus
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.datamanager.storage.database import Database
from petrosa.datamanager.storage.trading_schema import positions
from tests.integration.test_trading_state import T0, open_position, unique, unique_symbol
from tests.support.migrations import migrate
from tests.support.server import start_data_manager
from tests.support.services import ThrowawayDatabase

pytestmark = pytest.mark.integration

CONCURRENT_WRITERS = 20
CONCURRENT_ROUNDS = 3
BEFORE_FENCING = "0003_trading_state"


def fenced(position: PositionIn, fence: int) -> PositionIn:
    """The position as the holder of ``fence`` would write it (content tells writers apart)."""
    return position.model_copy(update={"quantity": Decimal(fence), "metadata": {"fence": fence}})


def close_at(hours: int) -> PositionClose:
    return PositionClose(exit_price=Decimal(hours), closed_at=T0 + dt.timedelta(hours=hours))


# --- the rule, write by write ------------------------------------------------------------


async def test_higher_and_equal_tokens_apply(client: DataManagerClient) -> None:
    position_id = unique("pos")
    sent = open_position(unique("strat"), unique_symbol())

    created = await client.upsert_position(position_id, fenced(sent, 3), fence=3)
    assert (created.created, created.fence) == (True, 3)

    higher = await client.upsert_position(position_id, fenced(sent, 4), fence=4)
    assert (higher.changed, higher.fence, higher.position.quantity) == (True, 4, Decimal(4))

    # The same holder writing again: applied; equal content stays a no-op.
    equal = await client.upsert_position(position_id, fenced(sent, 5), fence=4)
    assert (equal.changed, equal.fence, equal.position.quantity) == (True, 4, Decimal(5))
    repeat = await client.upsert_position(position_id, fenced(sent, 5), fence=4)
    assert (repeat.changed, repeat.fence, repeat.position) == (False, 4, equal.position)

    # A new holder writing the same content still raises the stored token.
    taken_over = await client.upsert_position(position_id, fenced(sent, 5), fence=9)
    assert (taken_over.changed, taken_over.fence) == (True, 9)
    with pytest.raises(StaleFenceError):
        await client.upsert_position(position_id, fenced(sent, 5), fence=8)


async def test_a_lower_token_is_409_and_changes_nothing(
    client: DataManagerClient, raw: httpx.AsyncClient
) -> None:
    position_id = unique("pos")
    sent = open_position(unique("strat"), unique_symbol())
    stored = (await client.upsert_position(position_id, fenced(sent, 7), fence=7)).position

    with pytest.raises(StaleFenceError) as raised:
        await client.upsert_position(position_id, fenced(sent, 4), fence=4)
    assert (raised.value.fence, raised.value.stored_fence) == (4, 7)
    assert isinstance(raised.value, ConflictError)
    with pytest.raises(StaleFenceError):
        await client.close_position(position_id, close_at(1), fence=6)
    assert await client.get_position(position_id) == stored

    answer = await raw.put(
        f"/positions/{position_id}", params={"fence": 0}, json=sent.model_dump(mode="json")
    )
    assert answer.status_code == 409
    assert answer.json() == {
        "detail": f"stale fencing token 0 < 7 for position {position_id!r}",
        "code": "stale_fence",
        "fence": 0,
        "stored_fence": 7,
    }
    assert await client.get_position(position_id) == stored


async def test_an_unfenced_write_applies_and_keeps_the_token(client: DataManagerClient) -> None:
    position_id = unique("pos")
    sent = open_position(unique("strat"), unique_symbol())
    await client.upsert_position(position_id, fenced(sent, 7), fence=7)

    manual = await client.upsert_position(position_id, fenced(sent, 1))
    assert (manual.changed, manual.fence, manual.position.quantity) == (True, 7, Decimal(1))
    closed = await client.close_position(position_id, close_at(2))
    assert (closed.changed, closed.fence) == (True, 7)
    assert closed.position.status is PositionStatus.CLOSED

    with pytest.raises(StaleFenceError):
        await client.upsert_position(position_id, fenced(sent, 6), fence=6)
    # An unfenced position stays unfenced until a fenced write arrives.
    other_id = unique("pos")
    assert (await client.upsert_position(other_id, sent)).fence is None
    assert (await client.upsert_position(other_id, sent, fence=0)).fence == 0


async def test_close_follows_the_same_rule(client: DataManagerClient) -> None:
    position_id = unique("pos")
    sent = open_position(unique("strat"), unique_symbol())
    await client.upsert_position(position_id, sent, fence=5)

    closed = await client.close_position(position_id, close_at(3), fence=5)
    assert (closed.changed, closed.fence) == (True, 5)
    again = await client.close_position(position_id, close_at(4), fence=5)
    assert (again.changed, again.position) == (False, closed.position)

    # A successor closing the closed position changes no content but shuts out the old holder.
    successor = await client.close_position(position_id, close_at(4), fence=6)
    assert (successor.changed, successor.fence) == (True, 6)
    assert successor.position.exit_price == closed.position.exit_price
    with pytest.raises(StaleFenceError):
        await client.close_position(position_id, close_at(4), fence=5)
    # A stale token is refused before the reopening check looks at the body.
    with pytest.raises(StaleFenceError):
        await client.upsert_position(position_id, sent, fence=5)
    with pytest.raises(ConflictError) as reopening:
        await client.upsert_position(position_id, sent, fence=6)
    assert not isinstance(reopening.value, StaleFenceError)


async def test_close_of_an_unknown_position_is_404_whatever_the_token(
    raw: httpx.AsyncClient,
) -> None:
    answer = await raw.post(
        f"/positions/{unique('pos')}/close",
        params={"fence": 3},
        json=close_at(1).model_dump(mode="json"),
    )
    assert answer.status_code == 404


# --- concurrent writers ------------------------------------------------------------------


@pytest.mark.parametrize("round_number", range(CONCURRENT_ROUNDS))
async def test_concurrent_writers_end_with_the_highest_token(
    client: DataManagerClient, round_number: int
) -> None:
    position_id = unique("pos")
    sent = open_position(unique("strat"), unique_symbol())
    fences = list(range(1, CONCURRENT_WRITERS + 1))
    random.Random(round_number).shuffle(fences)

    async def write(fence: int) -> int | StaleFenceError:
        try:
            result = await client.upsert_position(position_id, fenced(sent, fence), fence=fence)
        except StaleFenceError as refused:
            return refused
        # An applied write stored its own content and token, nobody else's.
        assert (result.fence, result.position.quantity) == (fence, Decimal(fence))
        return fence

    outcomes = await asyncio.gather(*(write(fence) for fence in fences))

    applied = {outcome for outcome in outcomes if isinstance(outcome, int)}
    refused = [outcome for outcome in outcomes if isinstance(outcome, StaleFenceError)]
    assert max(fences) in applied
    assert len(applied) + len(refused) == CONCURRENT_WRITERS
    for error in refused:
        # Refused only because a higher token had been written before it arrived.
        assert error.fence is not None
        assert error.stored_fence is not None
        assert error.stored_fence > error.fence
        assert error.stored_fence in applied
    final = await client.get_position(position_id)
    assert final is not None
    assert (final.quantity, final.metadata) == (Decimal(max(fences)), {"fence": max(fences)})
    # Nothing below the winner gets in afterwards.
    with pytest.raises(StaleFenceError):
        await client.upsert_position(position_id, fenced(sent, 1), fence=max(fences) - 1)


# --- bad tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize("fence", ["-1", "abc", "1.5", "", str(2**63)])
@pytest.mark.parametrize("action", ["upsert", "close"])
async def test_a_bad_token_is_422_naming_the_field(
    client: DataManagerClient, raw: httpx.AsyncClient, fence: str, action: str
) -> None:
    position_id = unique("pos")
    sent = open_position(unique("strat"), unique_symbol())
    stored = (await client.upsert_position(position_id, sent, fence=2)).position
    if action == "upsert":
        body = sent.model_copy(update={"quantity": Decimal(9)}).model_dump(mode="json")
        answer = await raw.put(f"/positions/{position_id}", params={"fence": fence}, json=body)
    else:
        body = close_at(1).model_dump(mode="json")
        answer = await raw.post(
            f"/positions/{position_id}/close", params={"fence": fence}, json=body
        )
    assert answer.status_code == 422, answer.text
    assert [item["loc"] for item in answer.json()["detail"]] == [["query", "fence"]]
    assert await client.get_position(position_id) == stored


async def test_the_client_reports_a_negative_token_as_a_validation_error(
    client: DataManagerClient,
) -> None:
    with pytest.raises(ValidationError) as raised:
        await client.upsert_position(unique("pos"), open_position("s", "BTCUSDT"), fence=-1)
    assert [item.loc for item in raised.value.errors] == [("query", "fence")]


# --- migration -----------------------------------------------------------------------------


async def position_columns(db: Database) -> set[str]:
    async with db.read() as conn:
        names: set[str] = await conn.run_sync(
            lambda sync_conn: {
                column["name"] for column in inspect(sync_conn).get_columns("positions")
            }
        )
    return names


async def test_upgrade_from_0003_keeps_positions_with_no_token(
    fresh_database: ThrowawayDatabase, tmp_path: Path
) -> None:
    settings = DataManagerSettings(database_url=SecretStr(fresh_database.url))
    db = Database(settings)
    try:
        await migrate(db, BEFORE_FENCING)
        assert "fence" not in await position_columns(db)
        row = {
            "position_id": "old-1", "strategy_id": "s1", "symbol": "BTCUSDT", "side": "long",
            "status": "open", "quantity": Decimal("1.5"), "entry_price": Decimal("100"),
            "realized_pnl": Decimal(0), "unrealized_pnl": Decimal(0), "fees": Decimal(0),
            "opened_at": T0, "metadata_json": "{}", "write_id": "w" * 32,
            "created_at": T0, "updated_at": T0,
        }  # fmt: skip
        async with db.write() as conn:
            await conn.execute(insert(positions), [row, {**row, "position_id": "old-2"}])

        server = start_data_manager(fresh_database.url, tmp_path)  # migrates to head
        try:
            async with DataManagerClient(server.base_url) as client:
                old = await client.get_position("old-1")
                assert old is not None
                assert old.quantity == Decimal("1.5")
                async with db.read() as conn:
                    stored = (await conn.execute(select(positions.c.fence))).scalars().all()
                assert stored == [None, None]

                first = await client.upsert_position("old-1", fenced(_as_in(old), 2), fence=2)
                assert (first.changed, first.fence) == (True, 2)
                closed = await client.close_position("old-2", close_at(1), fence=1)
                assert closed.fence == 1
                with pytest.raises(StaleFenceError):
                    await client.upsert_position("old-1", _as_in(old), fence=1)
        finally:
            server.stop()

        await migrate(db, BEFORE_FENCING, down=True)
        assert "fence" not in await position_columns(db)
        async with db.read() as conn:
            kept = (await conn.execute(select(positions.c.position_id))).scalars().all()
        assert sorted(kept) == ["old-1", "old-2"]
    finally:
        await db.dispose()


def _as_in(position: Position) -> PositionIn:
    fields = position.model_dump(exclude={"position_id", "updated_at"})
    return PositionIn.model_validate(fields)
