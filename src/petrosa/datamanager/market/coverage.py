"""Coverage of a kline series (market+symbol+interval): first/last/count and the gaps, in SQL.

Fixed intervals use a window function (LEAD) so only the gaps leave the database. The
calendar month has no fixed length; its series are tiny (12 a year), so their open times
are compared with the calendar in Python.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, Integer, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from petrosa.contracts.market import Coverage, Gap, Interval, Market
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.storage.market_schema import klines

MAX_COVERAGE_MONTHS = 2_400
"""Most calendar months one monthly coverage answer walks (200 years: every storable kline,
1970-2100, fits; a range reaching year 10,000 is refused rather than walked)."""
_LONGEST_MONTH_MS = 31 * 86_400_000
_CALENDAR_END_MS = 253_399_622_400_000
"""9999-12-01T00:00Z: the last month Python's calendar (and so this walk) can name."""


def align_up(value: int, step: int, phase: int) -> int:
    return phase + -(-(value - phase) // step) * step


def align_down(value: int, step: int, phase: int) -> int:
    return phase + ((value - phase) // step) * step


async def kline_coverage(
    conn: AsyncConnection,
    market: Market,
    symbol: str,
    interval: Interval,
    start: int | None,
    end: int | None,
) -> Coverage:
    where = [
        klines.c.market == market.value,
        klines.c.symbol == symbol,
        klines.c.interval == interval.value,
    ]
    if start is not None:
        where.append(klines.c.open_time >= start)
    if end is not None:
        where.append(klines.c.open_time < end)
    summary = await conn.execute(
        select(func.count(), func.min(klines.c.open_time), func.max(klines.c.open_time)).where(
            *where
        )
    )
    count, first, last = summary.one()
    count = int(count)
    step = interval.milliseconds
    if step is None:
        return await _monthly_coverage(conn, market, symbol, where, start, end, count, first, last)
    phase = interval.phase_ms if first is None else int(first) % step
    gaps: list[Gap] = []
    lo = None if start is None else align_up(start, step, phase)
    hi = None if end is None else align_down(end - 1, step, phase)  # last slot inside range
    if first is None:
        if lo is not None and hi is not None and lo <= hi:
            gaps.append(Gap(start=lo, end=hi, missing=(hi - lo) // step + 1))
        expected = None if lo is None or hi is None else max(0, (hi - lo) // step + 1)
        return Coverage(
            market=market, symbol=symbol, interval=interval, start=start, end=end,
            first_open_time=None, last_open_time=None, count=0, expected=expected, gaps=gaps,
        )  # fmt: skip
    first, last = int(first), int(last)
    if lo is not None and lo < first:
        gaps.append(Gap(start=lo, end=first - step, missing=(first - lo) // step))
    gaps.extend(await _interior_gaps(conn, where, step))
    if hi is not None and hi > last:
        gaps.append(Gap(start=last + step, end=hi, missing=(hi - last) // step))
    lo = first if lo is None else lo
    hi = last if hi is None else hi
    return Coverage(
        market=market, symbol=symbol, interval=interval, start=start, end=end,
        first_open_time=first, last_open_time=last, count=count,
        expected=(hi - lo) // step + 1, gaps=gaps,
    )  # fmt: skip


async def _interior_gaps(
    conn: AsyncConnection, where: list[ColumnElement[bool]], step: int
) -> list[Gap]:
    next_open = func.lead(klines.c.open_time).over(order_by=klines.c.open_time)
    ordered = select(klines.c.open_time.label("t"), next_open.label("n")).where(*where).subquery()
    query = (
        select(ordered.c.t, ordered.c.n)
        .where(ordered.c.n - ordered.c.t > literal(step, Integer))
        .order_by(ordered.c.t)
    )
    return [
        Gap(start=int(t) + step, end=int(n) - step, missing=(int(n) - int(t)) // step - 1)
        for t, n in await conn.execute(query)
    ]


def _month_start(ms: int) -> dt.datetime:
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(moment: dt.datetime) -> dt.datetime:
    return moment.replace(year=moment.year + moment.month // 12, month=moment.month % 12 + 1)


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _check_month_span(lo: int, hi: int, end: int | None) -> None:
    """Refuse (422) a range of more than MAX_COVERAGE_MONTHS months before walking it."""
    if hi < _CALENDAR_END_MS and hi - lo < MAX_COVERAGE_MONTHS * _LONGEST_MONTH_MS:
        months = _month_index(hi) - _month_index(lo) + 1
        if months <= MAX_COVERAGE_MONTHS:
            return
    where = ["query", "end" if end is not None else "start"]
    raise InvalidInput(
        where, f"a monthly coverage spans at most {MAX_COVERAGE_MONTHS} months: narrow the range"
    )


def _month_index(ms: int) -> int:
    moment = _month_start(ms)
    return moment.year * 12 + moment.month


async def _monthly_coverage(
    conn: AsyncConnection,
    market: Market,
    symbol: str,
    where: list[ColumnElement[bool]],
    start: int | None,
    end: int | None,
    count: int,
    first: int | None,
    last: int | None,
) -> Coverage:
    present = {int(r[0]) for r in await conn.execute(select(klines.c.open_time).where(*where))}
    lo = start if start is not None else first
    hi = (end - 1) if end is not None else last
    gaps: list[Gap] = []
    expected = 0
    if lo is not None and hi is not None and lo <= hi:
        _check_month_span(lo, hi, end)
        month = _month_start(lo)
        if _ms(month) < lo:
            month = _next_month(month)
        run: list[int] = []
        while _ms(month) <= hi:
            expected += 1
            if _ms(month) in present:
                if run:
                    gaps.append(Gap(start=run[0], end=run[-1], missing=len(run)))
                run = []
            else:
                run.append(_ms(month))
            month = _next_month(month)
        if run:
            gaps.append(Gap(start=run[0], end=run[-1], missing=len(run)))
    return Coverage(
        market=market, symbol=symbol, interval=Interval.MO1, start=start, end=end,
        first_open_time=first, last_open_time=last, count=count,
        expected=expected if lo is not None else None, gaps=gaps,
    )  # fmt: skip
