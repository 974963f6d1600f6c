"""The daily P&L rollover, run by the leader (collection ``tradeengine_days``).

One document per UTC date, its ISO date as ``_id``::

    {"_id": "2026-01-01", "asset": "USDT",
     "opened_at": ..., "opened_by": replica, "opening_equity": "10000",
     "closed_at": ..., "closed_by": replica, "closing_equity": "10012.5",
     "unrealized_pnl": "2.5", "realized_pnl": "10", "event_count": 3,
     "closed_late_s": 1.9, "late": false}

- A day is *opened* by the first leader round of that date: the exchange equity then. The
  insert is idempotent by ``_id``, so a second replica (or round) leaves it alone.
- A day is *closed* by the first round after its date has ended: equity and unrealized P&L
  (summed over the exchange's positions) as of that round, and the Data Manager's realized
  P&L total and event count for the date (one event per fill, counted once) as of that
  round. The update only applies while ``closed_at`` is null, so two leaders of a
  split-brain moment cannot both close it, differently.
- ``closed_late_s`` says how long after the day's end the close happened; ``late`` marks a
  close more than ``CLOSE_GRACE_S`` after it (the engine was down over midnight, say): its
  figures are those of the close, not of midnight. Realized P&L recorded for the date after
  the close is in the Data Manager's daily total but not in the closed document.
- On start (the first round of a leader), every earlier day opened but never closed is
  closed with the data available then, and today is opened. Days on which no replica ran
  get no document: their equity at the time was never observed, and is not invented.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from petrosa.client import DataManagerClient
from petrosa.exchange.trading import AccountSnapshot, ExchangePosition, TradingExchange

log = logging.getLogger(__name__)
DAYS = "tradeengine_days"
CLOSE_GRACE_S = 60.0
"""A close later than this after midnight is marked ``late``: a leader round runs every
few seconds, so only downtime (or a leadership gap) over midnight delays it longer."""
ONE_DAY = dt.timedelta(days=1)

Clock = Callable[[], dt.datetime]
"""Now, timezone-aware."""


@dataclass(frozen=True)
class RolloverRound:
    """What one round wrote (days another replica wrote first are not listed)."""

    opened: dt.date | None = None
    closed: list[dt.date] = field(default_factory=list)


@dataclass(frozen=True)
class ExchangeState:
    """The account as a round sees it."""

    asset: str
    equity: Decimal
    unrealized_pnl: Decimal
    """Summed over the open positions."""

    @classmethod
    def of(cls, account: AccountSnapshot, positions: list[ExchangePosition]) -> ExchangeState:
        unrealized = sum((p.unrealized_pnl for p in positions), Decimal(0))
        return cls(account.asset, account.equity, unrealized)


def utc_day(moment: dt.datetime) -> dt.date:
    """The UTC date of an aware datetime (a naive one is refused, not guessed)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the clock must be timezone-aware, got {moment.isoformat()}")
    return moment.astimezone(dt.UTC).date()


def day_end(day: dt.date) -> dt.datetime:
    """The UTC midnight at which ``day`` ends."""
    return dt.datetime.combine(day + ONE_DAY, dt.time(), tzinfo=dt.UTC)


def closed_late_s(day: dt.date, closed_at: dt.datetime) -> float:
    """Seconds between the end of ``day`` and its close (never negative), to the millisecond."""
    return max(0.0, round((closed_at - day_end(day)).total_seconds(), 3))


def opening_document(
    day: dt.date, now: dt.datetime, state: ExchangeState, replica: str
) -> dict[str, Any]:
    return {
        "_id": day.isoformat(),
        "asset": state.asset,
        "opened_at": now.astimezone(dt.UTC).isoformat(),
        "opened_by": replica,
        "opening_equity": _money(state.equity),
        "closed_at": None,
    }


def closing_fields(
    day: dt.date,
    now: dt.datetime,
    state: ExchangeState,
    *,
    realized_pnl: Decimal,
    event_count: int,
    replica: str,
) -> dict[str, Any]:
    late_s = closed_late_s(day, now)
    return {
        "closed_at": now.astimezone(dt.UTC).isoformat(),
        "closed_by": replica,
        "closing_equity": _money(state.equity),
        "unrealized_pnl": _money(state.unrealized_pnl),
        "realized_pnl": _money(realized_pnl),
        "event_count": event_count,
        "closed_late_s": late_s,
        "late": late_s > CLOSE_GRACE_S,
    }


class DailyRollover:
    """Opens and closes the UTC days of ``tradeengine_days``; safe to run from any replica."""

    def __init__(
        self,
        store: DataManagerClient,
        exchange: TradingExchange,
        *,
        clock: Clock,
        replica: str,
    ) -> None:
        self.store = store
        self.exchange = exchange
        self.clock = clock
        self.replica = replica
        self._opened: dt.date | None = None
        """The date this object saw open with nothing earlier left open: rounds on it are free."""

    async def prepare(self) -> None:
        await self.store.declare_collection(DAYS)

    async def run_round(self) -> RolloverRound:
        """Close every earlier day still open, open today; nothing at all once today is open."""
        now = self.clock()
        today = utc_day(now)
        if self._opened == today:
            return RolloverRound()
        still_open = {
            dt.date.fromisoformat(doc["_id"])
            async for doc in self.store.iter_query(DAYS, {"closed_at": None}, projection=[])
        }
        earlier = sorted(day for day in still_open if day < today)
        today_open = today in still_open
        if not earlier and today_open:
            self._opened = today
            return RolloverRound()
        state = await self._exchange_state()
        closed = [day for day in earlier if await self._close(day, now, state)]
        opened = None
        if not today_open:
            created = await self.store.insert_one(
                DAYS, opening_document(today, now, state, self.replica)
            )
            if created.inserted:
                opened = today
                log.info("day %s opened: equity %s", today, _money(state.equity))
        self._opened = today
        return RolloverRound(opened, closed)

    async def days(self, limit: int) -> list[dict[str, Any]]:
        """The day documents, newest first."""
        page = await self.store.query(DAYS, sort=[("_id", -1)], limit=limit)
        return [dict(doc) for doc in page]

    async def _close(self, day: dt.date, now: dt.datetime, state: ExchangeState) -> bool:
        pnl = await self.store.get_daily_pnl(day)
        fields = closing_fields(
            day,
            now,
            state,
            realized_pnl=pnl.total,
            event_count=pnl.event_count,
            replica=self.replica,
        )
        result = await self.store.update_one(
            DAYS, {"_id": day.isoformat(), "closed_at": None}, {"$set": fields}
        )
        if result.matched == 0:
            return False  # another replica closed it first; its figures stand
        log.log(
            logging.WARNING if fields["late"] else logging.INFO,
            "day %s closed %.0f s after its end: realized %s over %d events, equity %s",
            day,
            fields["closed_late_s"],
            fields["realized_pnl"],
            pnl.event_count,
            fields["closing_equity"],
        )
        return True

    async def _exchange_state(self) -> ExchangeState:
        account = await self.exchange.account()
        return ExchangeState.of(account, await self.exchange.positions())


def _money(value: Decimal) -> str:
    return format(value, "f")
