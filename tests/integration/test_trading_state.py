"""Positions, daily P&L and configuration through the client against a real Data Manager.

Runs once per backend (SQLite file, MariaDB, PostgreSQL): see the ``dm_url`` fixture. The
server is shared by the session, so every test uses its own position ids, strategy ids,
symbols and dates.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from petrosa.client import ConflictError, DataManagerClient, NotFoundError, ValidationError
from petrosa.contracts.trading import (
    PositionClose,
    PositionIn,
    PositionSide,
    PositionStatus,
    RealizedPnlIn,
)

pytestmark = pytest.mark.integration

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unique_symbol() -> str:
    return "T" + uuid.uuid4().hex[:10].upper()


def unique_date() -> dt.date:
    """A date no other test of the session uses (one of about a million)."""
    return dt.date(2100, 1, 1) + dt.timedelta(days=uuid.uuid4().int % 1_000_000)


def open_position(strategy_id: str, symbol: str, **changes: Any) -> PositionIn:
    fields: dict[str, Any] = {
        "strategy_id": strategy_id,
        "symbol": symbol,
        "side": PositionSide.LONG,
        "quantity": Decimal("0.000000012345678901"),
        "entry_price": Decimal("65432.123456789012345678"),
        "realized_pnl": Decimal("-12345678.123456789"),
        "unrealized_pnl": Decimal("0.5"),
        "fees": Decimal("0.000001"),
        "opened_at": T0,
        "metadata": {"order_id": "o-1", "leverage": 3, "tags": ["a", "b"]},
    }
    return PositionIn(**{**fields, **changes})


# --- positions -------------------------------------------------------------------------


async def test_position_round_trips_exact_decimals_and_utc(client: DataManagerClient) -> None:
    position_id = unique("pos")
    sent = open_position(
        unique("strat"),
        unique_symbol(),
        opened_at=dt.datetime.fromisoformat("2024-03-01T14:00+02:00"),
    )
    result = await client.upsert_position(position_id, sent)
    assert (result.created, result.changed) == (True, True)

    stored = await client.get_position(position_id)
    assert stored is not None
    assert stored == result.position
    assert stored.model_dump(exclude={"position_id", "updated_at"}) == sent.model_dump()
    assert format(stored.quantity, "f") == "0.000000012345678901"
    assert format(stored.entry_price, "f") == "65432.123456789012345678"
    assert format(stored.realized_pnl, "f") == "-12345678.123456789"
    assert stored.opened_at == T0
    assert stored.opened_at.utcoffset() == dt.timedelta(0)
    assert stored.status is PositionStatus.OPEN
    assert stored.closed_at is None


async def test_upsert_twice_keeps_one_row_unchanged(client: DataManagerClient) -> None:
    strategy_id, position_id = unique("strat"), unique("pos")
    sent = open_position(strategy_id, unique_symbol())
    first = await client.upsert_position(position_id, sent)
    # The same content written differently (trailing zeros, another offset) is no change.
    again = sent.model_copy(
        update={
            "quantity": Decimal("0.0000000123456789010"),
            "opened_at": T0.astimezone(dt.timezone(dt.timedelta(hours=-5))),
        }
    )
    second = await client.upsert_position(position_id, again)
    assert (second.created, second.changed) == (False, False)
    assert second.position == first.position
    assert len(await client.list_positions(strategy_id=strategy_id)) == 1

    moved = await client.upsert_position(
        position_id, sent.model_copy(update={"unrealized_pnl": Decimal("-2.25")})
    )
    assert (moved.created, moved.changed) == (False, True)
    assert moved.position.unrealized_pnl == Decimal("-2.25")
    assert moved.position.updated_at >= first.position.updated_at
    assert await client.get_position(position_id) == moved.position


async def test_close_is_idempotent_and_a_closed_position_never_reopens(
    client: DataManagerClient,
) -> None:
    position_id = unique("pos")
    sent = open_position(unique("strat"), unique_symbol())
    await client.upsert_position(position_id, sent)
    close = PositionClose(
        exit_price=Decimal("70000.5"),
        closed_at=T0 + dt.timedelta(hours=3),
        realized_pnl=Decimal("0.000000012345678901"),
        fees=Decimal("1.25"),
    )
    closed = await client.close_position(position_id, close)
    assert closed.changed is True
    assert closed.position.status is PositionStatus.CLOSED
    assert closed.position.exit_price == Decimal("70000.5")
    assert closed.position.realized_pnl == Decimal("0.000000012345678901")
    assert closed.position.unrealized_pnl == 0
    assert closed.position.closed_at == T0 + dt.timedelta(hours=3)

    other = PositionClose(exit_price=Decimal("1"), closed_at=T0 + dt.timedelta(days=9))
    second = await client.close_position(position_id, other)
    assert second.changed is False
    assert second.position == closed.position
    assert await client.get_position(position_id) == closed.position

    with pytest.raises(ConflictError):
        await client.upsert_position(position_id, sent)
    assert await client.get_position(position_id) == closed.position


async def test_unknown_position_is_404(client: DataManagerClient, raw: httpx.AsyncClient) -> None:
    missing = unique("missing")
    assert await client.get_position(missing) is None
    with pytest.raises(NotFoundError):
        await client.close_position(missing, PositionClose(exit_price=Decimal(1), closed_at=T0))
    answer = await raw.get(f"/positions/{missing}")
    assert answer.status_code == 404
    assert missing in answer.json()["detail"]


async def test_list_filters_and_newest_first(client: DataManagerClient) -> None:
    strategies = [unique("strat"), unique("strat")]
    symbols = [unique_symbol(), unique_symbol()]
    created: dict[str, PositionIn] = {}
    for index in range(8):
        strategy_id, symbol = strategies[index % 2], symbols[index // 4]
        status_fields: dict[str, Any] = {}
        if index % 4 == 3:
            status_fields = {
                "status": PositionStatus.CLOSED,
                "exit_price": Decimal("1.5"),
                "closed_at": T0 + dt.timedelta(days=30),
            }
        position = open_position(
            strategy_id, symbol, opened_at=T0 + dt.timedelta(minutes=index), **status_fields
        )
        position_id = unique(f"pos{index}")
        await client.upsert_position(position_id, position)
        created[position_id] = position

    def expected(**match: Any) -> list[str]:
        ids = [
            pid
            for pid, p in created.items()
            if all(getattr(p, name) == value for name, value in match.items())
        ]
        return sorted(ids, key=lambda pid: created[pid].opened_at, reverse=True)

    for strategy_id in strategies:
        found = await client.list_positions(strategy_id=strategy_id)
        assert [p.position_id for p in found] == expected(strategy_id=strategy_id)
        opened = await client.get_open_positions(strategy_id=strategy_id)
        assert [p.position_id for p in opened] == expected(
            strategy_id=strategy_id, status=PositionStatus.OPEN
        )
    for symbol in symbols:
        closed = await client.list_positions(status=PositionStatus.CLOSED, symbol=symbol)
        assert [p.position_id for p in closed] == expected(
            symbol=symbol, status=PositionStatus.CLOSED
        )
        both = await client.get_open_positions(strategy_id=strategies[0], symbol=symbol)
        assert [p.position_id for p in both] == expected(
            strategy_id=strategies[0], symbol=symbol, status=PositionStatus.OPEN
        )
    limited = await client.list_positions(strategy_id=strategies[1], limit=2)
    assert [p.position_id for p in limited] == expected(strategy_id=strategies[1])[:2]


# --- daily P&L -------------------------------------------------------------------------


def event_on(day: dt.date, amount: str, event_id: str | None = None) -> RealizedPnlIn:
    return RealizedPnlIn(
        event_id=event_id or unique("evt"),
        amount=Decimal(amount),
        occurred_at=dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC),
    )


async def test_daily_pnl_is_zero_when_nothing_recorded(client: DataManagerClient) -> None:
    day = unique_date()
    daily = await client.get_daily_pnl(day)
    assert (daily.date, daily.event_count, daily.updated_at) == (day, 0, None)
    assert daily.total == Decimal(0)


async def test_realized_pnl_round_trips_exactly_and_counts_once(client: DataManagerClient) -> None:
    day = unique_date()
    first = event_on(day, "0.000000012345678901")
    result = await client.record_realized_pnl(first)
    assert result.recorded is True
    again = await client.record_realized_pnl(first)
    assert again.recorded is False
    assert again.daily == result.daily
    second = await client.record_realized_pnl(event_on(day, "-12345678.123456789"))
    assert second.daily.total == Decimal("-12345678.123456776654321099")
    daily = await client.get_daily_pnl(day)
    assert daily.total == Decimal("0.000000012345678901") + Decimal("-12345678.123456789")
    assert format(daily.total, "f") == "-12345678.123456776654321099"
    assert daily.event_count == 2


async def test_event_counts_on_the_utc_date_of_occurred_at(client: DataManagerClient) -> None:
    day = unique_date()
    late_evening_west = dt.datetime.combine(
        day, dt.time(23, 30), tzinfo=dt.timezone(dt.timedelta(hours=-1))
    )
    event = RealizedPnlIn(
        event_id=unique("evt"),
        amount=Decimal("7.5"),
        occurred_at=late_evening_west,
        symbol="BTCUSDT",
        position_id=unique("pos"),
    )
    result = await client.record_realized_pnl(event)
    assert result.daily.date == day + dt.timedelta(days=1)
    assert (await client.get_daily_pnl(day)).total == 0
    assert (await client.get_daily_pnl(day + dt.timedelta(days=1))).total == Decimal("7.5")


def assert_nothing_retried(caplog: pytest.LogCaptureFixture) -> None:
    """The server answered every request itself: no 503 was hidden by client retries."""
    retried = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert retried == []


async def test_concurrent_retries_count_each_event_exactly_once(
    client: DataManagerClient, caplog: pytest.LogCaptureFixture
) -> None:
    day = unique_date()
    amounts = [f"{i}.{i:02d}0000000000000001" for i in range(1, 10)] + ["-3.000000000000000007"]
    events = [event_on(day, amount) for amount in amounts]
    sends = [event for event in events for _ in range(5)]
    results = await asyncio.gather(*(client.record_realized_pnl(e) for e in sends))

    assert sum(result.recorded for result in results) == 10
    daily = await client.get_daily_pnl(day)
    assert daily.total == sum((Decimal(a) for a in amounts), Decimal(0))
    assert daily.event_count == 10
    assert_nothing_retried(caplog)


async def test_concurrent_distinct_events_lose_no_update(
    client: DataManagerClient, caplog: pytest.LogCaptureFixture
) -> None:
    day = unique_date()
    amounts = [f"{i}.000000000000000{i % 10}" for i in range(40)]
    await asyncio.gather(*(client.record_realized_pnl(event_on(day, a)) for a in amounts))
    daily = await client.get_daily_pnl(day)
    assert daily.total == sum((Decimal(a) for a in amounts), Decimal(0))
    assert daily.event_count == 40
    assert_nothing_retried(caplog)


async def test_set_replaces_the_total_and_later_events_add(client: DataManagerClient) -> None:
    day = unique_date()
    before = event_on(day, "5")
    await client.record_realized_pnl(before)
    daily = await client.update_daily_pnl(day, Decimal("100.25"))
    assert (daily.total, daily.event_count) == (Decimal("100.25"), 1)
    assert daily.updated_at is not None
    assert await client.get_daily_pnl(day) == daily

    assert (await client.update_daily_pnl(day, "100.250")) == daily  # same value: no write
    await client.record_realized_pnl(event_on(day, "0.75"))
    assert (await client.record_realized_pnl(before)).recorded is False  # remembered
    final = await client.get_daily_pnl(day)
    assert (final.total, final.event_count) == (Decimal("101"), 2)

    empty_day = unique_date()
    negative = await client.update_daily_pnl(empty_day, "-0.000000000000000001")
    assert format(negative.total, "f") == "-0.000000000000000001"
    assert (await client.get_daily_pnl(empty_day)).event_count == 0


# --- configuration ---------------------------------------------------------------------


async def test_app_config_versions_and_audit(client: DataManagerClient) -> None:
    key = unique("risk.limits")
    assert await client.get_app_config(key) is None
    value = {"max_position_usd": "2500.50", "symbols": ["BTCUSDT"], "enabled": True}
    first = await client.set_app_config(key, value, changed_by="alice")
    assert (first.value, first.version, first.updated_by) == (value, 1, "alice")
    reordered = {"symbols": ["BTCUSDT"], "enabled": True, "max_position_usd": "2500.50"}
    same = await client.set_app_config(key, reordered, changed_by="bob")
    assert same == first  # unchanged: no version bump, no audit entry
    second = await client.set_app_config(key, {**value, "enabled": False}, changed_by="bob")
    assert (second.version, second.updated_by) == (2, "bob")
    assert await client.get_app_config(key) == second

    entries = await client.get_config_audit(scope="app", key=key)
    assert [(e.version, e.changed_by) for e in entries] == [(2, "bob"), (1, "alice")]
    newest, oldest = entries
    assert (oldest.old_value, oldest.new_value) == (None, value)
    assert (newest.old_value, newest.new_value) == (value, {**value, "enabled": False})
    assert newest.key == key
    assert newest.scope == "app"
    assert newest.changed_at == second.updated_at
    assert oldest.changed_at == first.updated_at
    assert [e.id for e in await client.get_config_audit(key=key, limit=1)] == [newest.id]

    scalar = await client.set_app_config(unique("flag"), 0.25, changed_by="carol")
    assert scalar.value == 0.25


async def test_strategy_config_override_merge_and_audit(client: DataManagerClient) -> None:
    strategy_id, symbol, other_symbol = unique("strat"), unique_symbol(), unique_symbol()
    assert await client.get_strategy_config(strategy_id) is None
    assert await client.get_strategy_config(strategy_id, symbol) is None

    base = await client.set_strategy_config(
        strategy_id, {"rsi_period": 14, "take_profit": "0.02", "mode": "fast"}, changed_by="ann"
    )
    assert (base.symbol, base.version) == (None, 1)
    assert base.parameters == {"rsi_period": 14, "take_profit": "0.02", "mode": "fast"}

    override = await client.set_strategy_config(
        strategy_id, {"rsi_period": 21, "size": 3}, symbol=symbol, changed_by="ben"
    )
    merged = {"rsi_period": 21, "take_profit": "0.02", "mode": "fast", "size": 3}
    assert override.parameters == merged
    assert override.symbol_parameters == {"rsi_period": 21, "size": 3}
    assert override.global_parameters == base.parameters
    assert override.version == 2
    assert await client.get_strategy_config(strategy_id, symbol) == override
    assert await client.get_strategy_config(strategy_id) == base
    plain = await client.get_strategy_config(strategy_id, other_symbol)
    assert plain is not None
    assert plain.parameters == base.parameters
    assert plain.symbol_parameters == {}

    unchanged = await client.set_strategy_config(
        strategy_id, {"size": 3, "rsi_period": 21}, symbol=symbol, changed_by="zed"
    )
    assert unchanged == override
    scope = f"strategy:{strategy_id}:{symbol}"
    assert len(await client.get_config_audit(scope=scope)) == 2

    changed = await client.set_strategy_config(
        strategy_id, {"rsi_period": 14, "take_profit": "0.03"}, changed_by="cid"
    )
    assert changed.version == 2
    effective = await client.get_strategy_config(strategy_id, symbol)
    assert effective is not None
    assert effective.parameters == {"rsi_period": 21, "take_profit": "0.03", "size": 3}
    assert effective.version == 3

    audit = await client.get_config_audit(scope=f"strategy:{strategy_id}")
    latest = {e.key: e for e in audit if e.version == 2}
    assert set(latest) == {"take_profit", "mode"}
    assert (latest["take_profit"].old_value, latest["take_profit"].new_value) == ("0.02", "0.03")
    assert (latest["mode"].old_value, latest["mode"].new_value) == ("fast", None)
    assert {e.changed_by for e in latest.values()} == {"cid"}
    assert all(e.changed_at == changed.updated_at for e in latest.values())
    first_entries = [e for e in audit if e.version == 1]
    assert {e.key: e.new_value for e in first_entries} == base.parameters
    assert [e.id for e in audit] == sorted((e.id for e in audit), reverse=True)


# --- bad input -------------------------------------------------------------------------


def _position(**changes: Any) -> dict[str, Any]:
    body = open_position("strat", "BTCUSDT").model_dump(mode="json")
    return {**body, **changes}


def _event(**changes: Any) -> dict[str, Any]:
    return {"event_id": "e", "amount": "1", "occurred_at": "2024-03-01T00:00:00Z", **changes}


def _strategy(**changes: Any) -> dict[str, Any]:
    return {"parameters": {}, "changed_by": "me", **changes}


NAIVE = "2024-03-01T12:00:00"
P = "/positions/p-bad"
BAD_REQUESTS = [
    ("PUT", P, _position(quantity="-1"), ["body", "quantity"]),
    ("PUT", P, _position(entry_price="NaN"), ["body", "entry_price"]),
    ("PUT", P, _position(fees="Infinity"), ["body", "fees"]),
    ("PUT", P, _position(opened_at=NAIVE), ["body", "opened_at"]),
    ("PUT", P, _position(symbol="btc-usdt"), ["body", "symbol"]),
    ("PUT", P, _position(status="pending"), ["body", "status"]),
    ("PUT", P, _position(status="closed"), ["body", "closed_at"]),
    ("PUT", P, _position(realized_pnl="0.0000000000000000001"), ["body", "realized_pnl"]),
    ("PUT", "/positions/p bad", _position(), ["path", "position_id"]),
    ("POST", f"{P}/close", {"exit_price": "1", "closed_at": NAIVE}, ["body", "closed_at"]),
    ("GET", "/positions?status=pending", None, ["query", "status"]),
    ("GET", "/positions?symbol=btcusdt", None, ["query", "symbol"]),
    ("GET", "/positions?limit=5001", None, ["query", "limit"]),
    ("GET", "/pnl/daily/2024-02-30", None, ["path", "date"]),
    ("GET", "/pnl/daily/20240301", None, ["path", "date"]),
    ("PUT", "/pnl/daily/2024-03-01", {"value": "1e400"}, ["body", "value"]),
    ("POST", "/pnl/realized", _event(amount="sNaN"), ["body", "amount"]),
    ("POST", "/pnl/realized", _event(occurred_at=NAIVE), ["body", "occurred_at"]),
    ("POST", "/pnl/realized", _event(symbol="x"), ["body", "symbol"]),
    ("PUT", "/config/app/a%20b", {"value": 1, "changed_by": "me"}, ["path", "key"]),
    ("PUT", "/config/app/ok", {"value": 1, "changed_by": ""}, ["body", "changed_by"]),
    ("PUT", "/config/strategies/s:1", _strategy(), ["path", "strategy_id"]),
    ("PUT", "/config/strategies/s1", _strategy(symbol="eth"), ["body", "symbol"]),
    ("GET", "/config/audit?limit=0", None, ["query", "limit"]),
]


@pytest.mark.parametrize(("method", "path", "body", "loc"), BAD_REQUESTS)
async def test_bad_input_is_422_naming_the_field(
    raw: httpx.AsyncClient, method: str, path: str, body: Any, loc: list[str]
) -> None:
    answer = await raw.request(method, path, json=body)
    assert answer.status_code == 422, answer.text
    locs = [item["loc"][: len(loc)] for item in answer.json()["detail"]]
    assert loc in locs, answer.text


async def test_bad_input_through_the_client_writes_nothing(client: DataManagerClient) -> None:
    day = unique_date()
    with pytest.raises(ValidationError) as caught:
        await client.update_daily_pnl(day, "NaN")
    assert ("body", "value") in [item.loc for item in caught.value.errors]
    assert (await client.get_daily_pnl(day)).updated_at is None

    position_id = unique("pos")
    await client.upsert_position(position_id, open_position(unique("strat"), unique_symbol()))
    early = PositionClose(exit_price=Decimal(1), closed_at=T0 - dt.timedelta(seconds=1))
    with pytest.raises(ValidationError) as caught:
        await client.close_position(position_id, early)
    assert ("body", "closed_at") in [item.loc for item in caught.value.errors]
    stored = await client.get_position(position_id)
    assert stored is not None
    assert stored.status is PositionStatus.OPEN
