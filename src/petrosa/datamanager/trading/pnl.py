"""Daily realized P&L: a total per UTC date, fed by events recorded exactly once.

Recording an event locks the date's row, inserts the event under its unique id and adds the
amount to the total, all in one transaction: a repeated event id fails the insert and adds
nothing, and recorders of the same date queue on the row lock, so no update is lost.

Setting a date (the system's ``update_daily_pnl``) replaces its total; events recorded later
add to the new total. Event ids recorded before the set stay remembered, so a late retry of
one of them still adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Context, Decimal, Inexact, InvalidOperation, Rounded
from typing import Any

from sqlalchemy import Row, exc, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from petrosa.contracts.trading import (
    MONEY_INTEGER_DIGITS,
    MONEY_LIMIT,
    MONEY_SCALE,
    DailyPnl,
    RealizedPnlIn,
    RealizedPnlResult,
)
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.storage.database import Database
from petrosa.datamanager.storage.trading_schema import daily_pnl, pnl_events
from petrosa.datamanager.trading.transactions import ensure_and_lock, run_write, utc_now

# Enough digits for any sum of two in-range amounts; a rounding would raise, never pass.
_EXACT = Context(
    prec=MONEY_INTEGER_DIGITS + MONEY_SCALE + 2, traps=[Inexact, Rounded, InvalidOperation]
)


def exact_sum(a: Decimal, b: Decimal) -> Decimal:
    """``a + b`` without the default context's 28-digit rounding."""
    return _EXACT.add(a, b)


def utc_date(moment: dt.datetime) -> dt.date:
    """The UTC calendar date an aware datetime falls on."""
    return moment.astimezone(dt.UTC).date()


class DailyPnlStore:
    def __init__(self, db: Database, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.db = db
        self._clock = clock

    async def get(self, day: dt.date) -> DailyPnl:
        """The date's total; zero with no events when nothing was recorded or set."""
        async with self.db.read() as conn:
            row = await _read_day(conn, day)
        return _daily(day, row)

    async def set(self, day: dt.date, value: Decimal) -> DailyPnl:
        """Replace the date's total; the same value again writes nothing."""
        now = self._clock()

        async def work(conn: AsyncConnection) -> DailyPnl:
            row = await _lock_day(conn, day)
            if row.updated_at is not None and row.total == value:
                return _daily(day, row)
            await conn.execute(
                update(daily_pnl)
                .where(daily_pnl.c.pnl_date == day)
                .values(total=value, updated_at=now)
            )
            return DailyPnl(date=day, total=value, event_count=row.event_count, updated_at=now)

        return await run_write(self.db, work)

    async def record(self, event: RealizedPnlIn) -> RealizedPnlResult:
        """Add the amount to its UTC date once per event id; a repeat adds nothing."""
        day = utc_date(event.occurred_at)
        now = self._clock()

        async def work(conn: AsyncConnection) -> RealizedPnlResult:
            row = await _lock_day(conn, day)
            if not await _insert_event(conn, event, day, now):
                return RealizedPnlResult(recorded=False, daily=await _first_recording(conn, event))
            total = exact_sum(row.total, event.amount)
            if total.copy_abs() >= MONEY_LIMIT:
                raise InvalidInput(
                    ["body", "amount"],
                    f"the total of {day} would reach 10^{MONEY_INTEGER_DIGITS} in magnitude",
                )
            count = row.event_count + 1
            await conn.execute(
                update(daily_pnl)
                .where(daily_pnl.c.pnl_date == day)
                .values(total=total, event_count=count, updated_at=now)
            )
            daily = DailyPnl(date=day, total=total, event_count=count, updated_at=now)
            return RealizedPnlResult(recorded=True, daily=daily)

        return await run_write(self.db, work)


async def _lock_day(conn: AsyncConnection, day: dt.date) -> Row[Any]:
    # A date with nothing recorded gets a zero row, indistinguishable from no row.
    zero = {"pnl_date": day, "total": Decimal(0), "event_count": 0, "updated_at": None}
    return await ensure_and_lock(conn, daily_pnl, zero)


async def _read_day(conn: AsyncConnection, day: dt.date) -> Row[Any] | None:
    result = await conn.execute(select(daily_pnl).where(daily_pnl.c.pnl_date == day))
    return result.first()


async def _insert_event(
    conn: AsyncConnection, event: RealizedPnlIn, day: dt.date, now: dt.datetime
) -> bool:
    """Store the event; False (and nothing stored) when its id is already recorded."""
    values = {
        "event_id": event.event_id,
        "pnl_date": day,
        "amount": event.amount,
        "occurred_at": event.occurred_at,
        "symbol": event.symbol,
        "position_id": event.position_id,
        "recorded_at": now,
    }
    try:
        # A savepoint, so the failed insert leaves the transaction usable (PostgreSQL).
        async with conn.begin_nested():
            await conn.execute(insert(pnl_events).values(values))
    except exc.IntegrityError:
        stored = await conn.execute(
            select(pnl_events.c.event_id).where(pnl_events.c.event_id == event.event_id)
        )
        if stored.first() is None:
            raise  # not the unique event id: a real error
        return False
    return True


async def _first_recording(conn: AsyncConnection, event: RealizedPnlIn) -> DailyPnl:
    """The total of the date the event id was first recorded under."""
    result = await conn.execute(
        select(pnl_events.c.pnl_date).where(pnl_events.c.event_id == event.event_id)
    )
    day: dt.date = result.scalar_one()
    return _daily(day, await _read_day(conn, day))


def _daily(day: dt.date, row: Row[Any] | None) -> DailyPnl:
    if row is None:
        return DailyPnl(date=day, total=Decimal(0), event_count=0, updated_at=None)
    return DailyPnl(
        date=day, total=row.total, event_count=row.event_count, updated_at=row.updated_at
    )
