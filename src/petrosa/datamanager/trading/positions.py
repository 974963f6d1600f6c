"""Positions: idempotent upsert by position id, idempotent close, reads with filters.

Rules: a write whose content equals what is stored changes nothing (``changed`` false, no
new ``updated_at``); a closed position never reopens (409); closing a closed position is a
no-op that returns the stored position, whatever the second close says.

Either write may carry a fencing token (``trading.fencing``): one older than the position's
is refused (409) before anything else is looked at; a newer one is stored, which counts as a
change even when the content is equal. The check runs on the row locked by the write's own
transaction, so no other writer can slip in between the check and the write.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from petrosa.contracts.trading import (
    Position,
    PositionClose,
    PositionIn,
    PositionStatus,
    PositionWriteResult,
    canonical_json,
)
from petrosa.datamanager.errors import Conflict, InvalidInput, NotFound
from petrosa.datamanager.storage.database import Database
from petrosa.datamanager.storage.trading_schema import positions
from petrosa.datamanager.trading.fencing import fence_after_write
from petrosa.datamanager.trading.transactions import (
    ensure_and_lock,
    lock_row,
    new_write_id,
    run_write,
    utc_now,
)

CONTENT_COLUMNS = (
    "strategy_id", "symbol", "side", "status", "quantity", "entry_price", "exit_price",
    "realized_pnl", "unrealized_pnl", "fees", "opened_at", "closed_at", "metadata_json",
)  # fmt: skip
"""The columns a writer controls; equal values in all of them mean "unchanged"."""


class PositionStore:
    def __init__(self, db: Database, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.db = db
        self._clock = clock

    async def upsert(
        self, position_id: str, position: PositionIn, *, fence: int | None = None
    ) -> PositionWriteResult:
        """Create the position or bring it to ``position``; reopening a closed one is a 409.

        ``fence``: the writer's fencing token; older than the stored one → ``StaleFence``.
        """
        content = content_values(position)
        write_id = new_write_id()
        now = self._clock()

        async def work(conn: AsyncConnection) -> PositionWriteResult:
            row = await ensure_and_lock(
                conn,
                positions,
                {
                    "position_id": position_id,
                    **content,
                    "fence": fence,
                    "write_id": write_id,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if row.write_id == write_id:
                return write_result(row, created=True, changed=True)
            new_fence = fence_after_write(position_id, stored=row.fence, offered=fence)
            if row.status == PositionStatus.CLOSED and position.status is PositionStatus.OPEN:
                raise Conflict(
                    f"position {position_id!r} is closed; a closed position never reopens"
                )
            if same_content(row, content) and new_fence == row.fence:
                return write_result(row, changed=False)
            values = {**content, "fence": new_fence, "write_id": write_id, "updated_at": now}
            return write_result(await _update(conn, position_id, values), changed=True)

        return await run_write(self.db, work)

    async def close(
        self, position_id: str, close: PositionClose, *, fence: int | None = None
    ) -> PositionWriteResult:
        """Close an open position; an already closed one is returned unchanged; unknown → 404.

        ``fence`` as for :meth:`upsert`; a newer one is stored even on a closed position.
        """
        write_id = new_write_id()
        now = self._clock()

        async def work(conn: AsyncConnection) -> PositionWriteResult:
            row = await lock_row(conn, positions, {"position_id": position_id})
            if row is None:
                raise NotFound(f"position {position_id!r} does not exist")
            new_fence = fence_after_write(position_id, stored=row.fence, offered=fence)
            stamp = {"fence": new_fence, "write_id": write_id, "updated_at": now}
            if row.status == PositionStatus.CLOSED:
                if new_fence == row.fence:
                    return write_result(row, changed=False)
                return write_result(await _update(conn, position_id, stamp), changed=True)
            if close.closed_at < row.opened_at:
                raise InvalidInput(
                    ["body", "closed_at"], "closed_at must not be before the position's opened_at"
                )
            values: dict[str, Any] = {
                "status": PositionStatus.CLOSED.value,
                "exit_price": close.exit_price,
                "closed_at": close.closed_at,
                "unrealized_pnl": Decimal(0),
                **stamp,
            }
            if close.realized_pnl is not None:
                values["realized_pnl"] = close.realized_pnl
            if close.fees is not None:
                values["fees"] = close.fees
            return write_result(await _update(conn, position_id, values), changed=True)

        return await run_write(self.db, work)

    async def get(self, position_id: str) -> Position:
        async with self.db.read() as conn:
            result = await conn.execute(
                select(positions).where(positions.c.position_id == position_id)
            )
            row = result.first()
        if row is None:
            raise NotFound(f"position {position_id!r} does not exist")
        return position_from_row(row)

    async def find(
        self,
        *,
        status: PositionStatus | None = None,
        strategy_id: str | None = None,
        symbol: str | None = None,
        limit: int,
    ) -> list[Position]:
        """Positions matching every given filter, newest ``opened_at`` first."""
        query = select(positions)
        if status is not None:
            query = query.where(positions.c.status == status.value)
        if strategy_id is not None:
            query = query.where(positions.c.strategy_id == strategy_id)
        if symbol is not None:
            query = query.where(positions.c.symbol == symbol)
        query = query.order_by(positions.c.opened_at.desc(), positions.c.position_id.desc())
        async with self.db.read() as conn:
            rows = (await conn.execute(query.limit(limit))).all()
        return [position_from_row(row) for row in rows]


async def _update(conn: AsyncConnection, position_id: str, values: dict[str, Any]) -> Row[Any]:
    key = positions.c.position_id == position_id
    await conn.execute(update(positions).where(key).values(values))
    return (await conn.execute(select(positions).where(key))).one()


def write_result(row: Row[Any], *, changed: bool, created: bool = False) -> PositionWriteResult:
    return PositionWriteResult(
        position=position_from_row(row), created=created, changed=changed, fence=row.fence
    )


def content_values(position: PositionIn) -> dict[str, Any]:
    """The stored form of what a writer sent (enums as text, metadata as canonical JSON)."""
    return {
        "strategy_id": position.strategy_id,
        "symbol": position.symbol,
        "side": position.side.value,
        "status": position.status.value,
        "quantity": position.quantity,
        "entry_price": position.entry_price,
        "exit_price": position.exit_price,
        "realized_pnl": position.realized_pnl,
        "unrealized_pnl": position.unrealized_pnl,
        "fees": position.fees,
        "opened_at": position.opened_at,
        "closed_at": position.closed_at,
        "metadata_json": canonical_json(position.metadata),
    }


def same_content(row: Row[Any], content: dict[str, Any]) -> bool:
    """Decimals compare by value (1.50 == 1.5), datetimes by instant, metadata by JSON text."""
    return all(getattr(row, name) == content[name] for name in CONTENT_COLUMNS)


def position_from_row(row: Row[Any]) -> Position:
    fields = {name: getattr(row, name) for name in CONTENT_COLUMNS if name != "metadata_json"}
    return Position(
        position_id=row.position_id,
        metadata=json.loads(row.metadata_json),
        updated_at=row.updated_at,
        **fields,
    )
