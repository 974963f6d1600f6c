"""The daily rollover's date arithmetic and documents (pure; the rounds themselves run
against a real Data Manager in tests/integration/test_tradeengine_rollover.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D  # noqa: N817 (short for readable money literals)

import pytest

from petrosa.exchange.trading import AccountSnapshot, ExchangePosition
from petrosa.tradeengine.rollover import (
    CLOSE_GRACE_S,
    ExchangeState,
    closed_late_s,
    closing_fields,
    day_end,
    opening_document,
    utc_day,
)

DAY = dt.date(2026, 3, 31)
MIDNIGHT = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
STATE = ExchangeState("USDT", D("10000.12500000"), D("-1.5"))


def test_the_utc_date_not_the_local_one() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert utc_day(dt.datetime(2026, 4, 1, 8, 59, tzinfo=tokyo)) == DAY
    assert utc_day(dt.datetime(2026, 4, 1, 9, 0, tzinfo=tokyo)) == DAY + dt.timedelta(days=1)
    assert utc_day(MIDNIGHT - dt.timedelta(microseconds=1)) == DAY
    assert utc_day(MIDNIGHT) == DAY + dt.timedelta(days=1)


def test_a_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        utc_day(dt.datetime(2026, 4, 1, 12))


def test_a_day_ends_at_the_next_utc_midnight_across_month_and_year() -> None:
    assert day_end(DAY) == MIDNIGHT
    assert day_end(dt.date(2025, 12, 31)) == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert day_end(dt.date(2028, 2, 28)) == dt.datetime(2028, 2, 29, tzinfo=dt.UTC)


def test_how_late_a_close_was() -> None:
    assert closed_late_s(DAY, MIDNIGHT + dt.timedelta(seconds=1.5)) == 1.5
    assert closed_late_s(DAY, MIDNIGHT + dt.timedelta(days=2, hours=3)) == 183_600.0
    # A clock a little behind another replica's never gives a negative delay.
    assert closed_late_s(DAY, MIDNIGHT - dt.timedelta(seconds=2)) == 0.0


def test_the_opening_document_keeps_money_exact() -> None:
    opened_at = dt.datetime(2026, 3, 31, 9, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert opening_document(DAY, opened_at, STATE, "engine-a") == {
        "_id": "2026-03-31",
        "asset": "USDT",
        "opened_at": "2026-03-31T07:00:00+00:00",
        "opened_by": "engine-a",
        "opening_equity": "10000.12500000",
        "closed_at": None,
    }


def test_a_close_in_time_and_a_late_one() -> None:
    on_time = closing_fields(
        DAY,
        MIDNIGHT + dt.timedelta(seconds=2),
        STATE,
        realized_pnl=D("12.34000"),
        event_count=3,
        replica="engine-b",
    )
    assert on_time == {
        "closed_at": "2026-04-01T00:00:02+00:00",
        "closed_by": "engine-b",
        "closing_equity": "10000.12500000",
        "unrealized_pnl": "-1.5",
        "realized_pnl": "12.34000",
        "event_count": 3,
        "closed_late_s": 2.0,
        "late": False,
    }
    after_grace = MIDNIGHT + dt.timedelta(seconds=CLOSE_GRACE_S + 1)
    late = closing_fields(DAY, after_grace, STATE, realized_pnl=D(0), event_count=0, replica="b")
    assert (late["late"], late["closed_late_s"], late["realized_pnl"]) == (
        True,
        CLOSE_GRACE_S + 1,
        "0",
    )


def position(symbol: str, quantity: str, unrealized: str) -> ExchangePosition:
    return ExchangePosition(symbol, D(quantity), D(1), D(1), D(unrealized), 10, None)


def test_the_state_sums_unrealized_pnl_over_the_positions_exactly() -> None:
    account = AccountSnapshot(
        "USDT", D("10000"), D("0.3"), D("10000.3"), D("9000"), D("100"), D("5"), None
    )
    held = [position("BTCUSDT", "0.01", "0.10000001"), position("ETHUSDT", "-2", "0.19999999")]
    assert ExchangeState.of(account, held) == ExchangeState("USDT", D("10000.3"), D("0.3"))
    assert ExchangeState.of(account, []).unrealized_pnl == 0
