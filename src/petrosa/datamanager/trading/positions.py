"""Positions: idempotent upsert by position id, idempotent close, reads with filters.

Rules: a write whose content equals what is stored changes nothing (``changed`` false, no
new ``updated_at``); a closed position never reopens (409); closing a closed position is a
no-op that returns the stored position, whatever the second close says.
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

    async def upsert(self, position_id: str, position: PositionIn) -> PositionWriteResult:
        """Create the position or bring it to ``position``; reopening a closed one is a 409."""
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
                    "write_id": write_id,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if row.write_id == write_id:
                return PositionWriteResult(
                    position=position_from_row(row), created=True, changed=True
                )
            if row.status == PositionStatus.CLOSED and position.status is PositionStatus.OPEN:
                raise Conflict(
                    f"position {position_id!r} is closed; a closed position never reopens"
                )
            if same_content(row, content):
                return PositionWriteResult(position=position_from_row(row), changed=False)
            stored = await _update(
                conn, position_id, {**content, "write_id": write_id, "updated_at": now}
            )
            return PositionWriteResult(position=stored, changed=True)

        return await run_write(self.db, work)

    async def close(self, position_id: str, close: PositionClose) -> PositionWriteResult:
        """Close an open position; an already closed one is returned unchanged; unknown → 404."""
        write_id = new_write_id()
        now = self._clock()

        async def work(conn: AsyncConnection) -> PositionWriteResult:
            row = await lock_row(conn, positions, {"position_id": position_id})
            if row is None:
                raise NotFound(f"position {position_id!r} does not exist")
            if row.status == PositionStatus.CLOSED:
                return PositionWriteResult(position=position_from_row(row), changed=False)
            if close.closed_at < row.opened_at:
                raise InvalidInput(
                    ["body", "closed_at"], "closed_at must not be before the position's opened_at"
                )
            values: dict[str, Any] = {
                "status": PositionStatus.CLOSED.value,
                "exit_price": close.exit_price,
                "closed_at": close.closed_at,
                "unrealized_pnl": Decimal(0),
                "write_id": write_id,
                "updated_at": now,
            }
            if close.realized_pnl is not None:
                values["realized_pnl"] = close.realized_pnl
            if close.fees is not None:
                values["fees"] = close.fees
            return PositionWriteResult(
                position=await _update(conn, position_id, values), changed=True
            )

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


async def _update(conn: AsyncConnection, position_id: str, values: dict[str, Any]) -> Position:
    key = positions.c.position_id == position_id
    await conn.execute(update(positions).where(key).values(values))
    row = (await conn.execute(select(positions).where(key))).one()
    return position_from_row(row)


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
