"""The daily P&L rollover across midnight: a real Data Manager on each backend (SQLite file,
MariaDB, PostgreSQL) over HTTP, and a real ``petrosa exchange-sim serve`` process driven by
``BinanceFuturesTrading`` (its paper account is flat at each rollover round, so its equity
stands still while the price runs). The rollover's own clock is a fake the test moves; the
last test runs a real ``petrosa tradeengine serve`` (coordination on a SQLite file, no NATS)
whose leader opens today and serves it at ``GET /pnl/days``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from petrosa.client import DataManagerClient
from petrosa.contracts.trading import RealizedPnlIn
from petrosa.exchange.binance import BinanceFuturesTrading
from petrosa.exchange.trading import OrderSide
from petrosa.tradeengine.rollover import DAYS, DailyRollover, RolloverRound
from tests.support.server import RunningServer, start_exchange_simulator, start_service

pytestmark = pytest.mark.integration

KEY, SECRET = "paper-key", "paper-secret"
SIM_CLOCK_START = "2025-06-01T12:00:00Z"
ONE_DAY = dt.timedelta(days=1)
LEADER_DEADLINE_S = 60.0


class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class CountingTransport(httpx.AsyncHTTPTransport):
    """Real HTTP, counting the requests sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await super().handle_async_request(request)


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_exchange_simulator(
        tmp_path_factory.mktemp("rollover"), "--clock-start", SIM_CLOCK_START
    )
    yield server
    server.stop()


@pytest.fixture
async def exchange(simulator: RunningServer) -> AsyncIterator[BinanceFuturesTrading]:
    async with httpx.AsyncClient(base_url=simulator.base_url) as http:
        assert (await http.post("/sim/reset")).status_code == 200
    async with BinanceFuturesTrading(KEY, SECRET, base_url=simulator.base_url) as trading:
        yield trading


@pytest.fixture
async def store(client: DataManagerClient) -> DataManagerClient:
    """The Data Manager with an empty ``tradeengine_days`` (the server lives for the session)."""
    await client.declare_collection(DAYS)
    await client.delete(DAYS, {}, many=True)
    return client


async def record_pnl(store: DataManagerClient, day: dt.date, *amounts: str) -> list[str]:
    ids = [f"rollover-{uuid.uuid4().hex}" for _ in amounts]
    at = dt.datetime.combine(day, dt.time(15, 30), tzinfo=dt.UTC)
    for event_id, amount in zip(ids, amounts, strict=True):
        event = RealizedPnlIn(event_id=event_id, amount=Decimal(amount), occurred_at=at)
        assert (await store.record_realized_pnl(event)).recorded
    return ids


async def round_trip(exchange: BinanceFuturesTrading, symbol: str, quantity: Decimal) -> None:
    """Open and close a position: the account is flat again, its wallet changed."""
    run = uuid.uuid4().hex[:12]
    await exchange.place_market_order(
        symbol, OrderSide.BUY, quantity, client_order_id=f"rollover-{run}-open"
    )
    await exchange.place_market_order(
        symbol, OrderSide.SELL, quantity, client_order_id=f"rollover-{run}-close", reduce_only=True
    )


async def by_id(rollover: DailyRollover) -> dict[str, dict[str, object]]:
    return {str(doc["_id"]): doc for doc in await rollover.days(100)}


async def test_midnight_closes_the_day_and_opens_the_next_once(
    store: DataManagerClient,
    exchange: BinanceFuturesTrading,
    dm_url: str,
) -> None:
    day, next_day = dt.date(2071, 5, 17), dt.date(2071, 5, 18)
    clock = FakeClock(dt.datetime(2071, 5, 17, 22, tzinfo=dt.UTC))
    reader = DailyRollover(store, exchange, clock=clock, replica="reader")  # lists the days
    counting = CountingTransport()
    async with DataManagerClient(dm_url, transport=counting) as dm:
        leader = DailyRollover(dm, exchange, clock=clock, replica="engine-a")
        await leader.prepare()

        at_open = await exchange.account()
        assert await leader.run_round() == RolloverRound(opened=day)
        opened = (await by_id(reader))[day.isoformat()]
        assert opened["opening_equity"] == format(at_open.equity, "f")
        assert (opened["opened_by"], opened["closed_at"]) == ("engine-a", None)

        # The rest of the day: realized P&L (one event repeated: counted once), a round trip
        # on the exchange, and rounds that cost nothing once the day is open.
        first, *_ = await record_pnl(store, day, "12.5", "-3.25", "0.0001")
        repeat = RealizedPnlIn(event_id=first, amount=Decimal("12.5"), occurred_at=clock.now)
        assert not (await store.record_realized_pnl(repeat)).recorded
        await record_pnl(store, next_day, "100")  # the next date's, not this one's
        await round_trip(exchange, "BTCUSDT", Decimal("0.01"))
        sent = counting.requests
        clock.now = dt.datetime(2071, 5, 17, 23, 59, 59, 999_999, tzinfo=dt.UTC)
        assert await leader.run_round() == RolloverRound()
        assert counting.requests == sent

        at_close = await exchange.account()
        held = await exchange.positions()
        clock.now = dt.datetime(2071, 5, 18, 0, 0, 2, tzinfo=dt.UTC)
        assert await leader.run_round() == RolloverRound(opened=next_day, closed=[day])

    days = await by_id(reader)
    assert list(days) == [next_day.isoformat(), day.isoformat()]  # newest first
    closed = days[day.isoformat()]
    assert Decimal(str(closed["realized_pnl"])) == Decimal("9.2501")
    assert closed["event_count"] == 3
    assert closed["closing_equity"] == format(at_close.equity, "f")
    assert at_close.equity != at_open.equity  # the trade's fee at least
    assert held == []
    assert closed["unrealized_pnl"] == "0"
    assert (closed["closed_at"], closed["closed_by"]) == ("2071-05-18T00:00:02+00:00", "engine-a")
    assert (closed["closed_late_s"], closed["late"]) == (2.0, False)
    assert days[next_day.isoformat()]["opening_equity"] == closed["closing_equity"]

    # A second replica, with the same clock or one a little behind, changes nothing.
    before = await by_id(reader)
    for behind in (dt.timedelta(0), dt.timedelta(seconds=5)):
        other = DailyRollover(
            store, exchange, clock=FakeClock(clock.now - behind), replica="engine-b"
        )
        assert await other.run_round() == RolloverRound()
        assert await other.run_round() == RolloverRound()
    assert await by_id(reader) == before

    # Two leaders of a split-brain moment at the next midnight: one closes, one opens.
    clock.now += ONE_DAY
    rounds = await asyncio.gather(
        *(
            DailyRollover(store, exchange, clock=clock, replica=name).run_round()
            for name in ("engine-a", "engine-b")
        )
    )
    assert sorted(len(r.closed) for r in rounds) == [0, 1]
    assert sorted(r.opened is not None for r in rounds) == [False, True]
    assert list(await by_id(reader)) == ["2071-05-19", "2071-05-18", "2071-05-17"]


async def test_a_gap_of_days_closes_the_last_one_late_and_opens_today_only(
    store: DataManagerClient, exchange: BinanceFuturesTrading
) -> None:
    day, today = dt.date(2072, 8, 30), dt.date(2072, 9, 2)
    clock = FakeClock(dt.datetime(2072, 8, 30, 12, tzinfo=dt.UTC))
    before = DailyRollover(store, exchange, clock=clock, replica="engine-a")
    assert await before.run_round() == RolloverRound(opened=day)
    await record_pnl(store, day, "-7.75", "1.5")

    # Down from the afternoon of D until D+3 06:00; the replica that leads next catches up.
    clock.now = dt.datetime(2072, 9, 2, 6, tzinfo=dt.UTC)
    after = DailyRollover(store, exchange, clock=clock, replica="engine-b")
    assert await after.run_round() == RolloverRound(opened=today, closed=[day])
    assert await after.run_round() == RolloverRound()
    assert await before.run_round() == RolloverRound()

    days = await by_id(after)
    assert list(days) == [today.isoformat(), day.isoformat()]  # no D+1, no D+2
    closed = days[day.isoformat()]
    assert (closed["late"], closed["closed_late_s"]) == (True, 2 * 86_400 + 6 * 3_600.0)
    assert (Decimal(str(closed["realized_pnl"])), closed["event_count"]) == (Decimal("-6.25"), 2)
    assert days[today.isoformat()]["closed_at"] is None


async def test_the_served_leader_opens_today_and_lists_it(
    store: DataManagerClient,
    exchange: BinanceFuturesTrading,
    simulator: RunningServer,
    dm_url: str,
    tmp_path: Path,
) -> None:
    equity = (await exchange.account()).equity  # flat: it stands still
    engine = start_service(
        "engine-rollover", ["tradeengine", "serve"], tmp_path,
        ready_path="/health/readiness",
        extra_env={
            "BINANCE_FUTURES_API_URL": simulator.base_url,
            "DATA_MANAGER_URL": dm_url,
            "COORDINATION_URL": f"sqlite:///{tmp_path / 'coordination.db'}",
            "NATS_URL": "",
            "TRADEENGINE_REPLICA": "engine-solo",
        },
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=engine.base_url, timeout=10) as http:
            days = await wait_for_days(http)
            assert (await http.get("/pnl/days", params={"limit": 0})).status_code == 422
    finally:
        engine.stop()
    (today,) = days
    assert today["_id"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert (today["opened_by"], today["closed_at"]) == ("engine-solo", None)
    assert today["opening_equity"] == format(equity, "f")


async def wait_for_days(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    """``GET /pnl/days`` once the leader has written something."""
    deadline = time.monotonic() + LEADER_DEADLINE_S
    while True:
        answer = await http.get("/pnl/days", params={"limit": 10})
        assert answer.status_code == 200
        days: list[dict[str, Any]] = answer.json()
        if days:
            return days
        assert time.monotonic() < deadline, "the leader never opened today"
        await asyncio.sleep(0.5)
