"""The executor's decisions, in one process: a real Data Manager app on a SQLite file and the
real exchange simulator (frozen clock), both through their clients over ASGI, and locks on
the in-memory lease store (tests/support/inprocess.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from petrosa.contracts.trading import PositionIn, PositionSide
from petrosa.coordination import Locks
from petrosa.tradeengine.executor import Executor
from tests.support.inprocess import EngineCore, engine_core
from tests.support.signals import signal

HOUR_MS = 3_600_000


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[EngineCore]:
    async with engine_core(tmp_path) as running:
        yield running


async def open_position_at(
    core: EngineCore, symbol: str, quantity: str, entry_price: Decimal
) -> None:
    """A stored open position entered at ``entry_price`` (as if the market moved since)."""
    await core.store.upsert_position(
        f"{symbol}-planted",
        PositionIn(
            strategy_id="planted",
            symbol=symbol,
            side=PositionSide.LONG,
            quantity=Decimal(quantity),
            entry_price=entry_price,
            opened_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        ),
    )


async def market_orders(core: EngineCore) -> list[dict[str, Any]]:
    return [o for o in await core.orders() if o["type"] == "MARKET"]


# -- the signal's price: sizing and checks at the mark -------------------------------------


async def test_a_signal_priced_far_below_the_mark_is_refused_and_places_nothing(
    core: EngineCore,
) -> None:
    mark = await core.mark("BTCUSDT")
    cheap = signal("BTCUSDT", "buy", (mark / 100).quantize(Decimal("0.01")), 1)
    decision = await core.executor().handle(cheap)
    assert decision.status.value == "rejected"
    assert decision.reason.startswith("price: signal "), decision.reason
    assert "deviates 99.0% from mark" in decision.reason
    assert decision.reason.endswith("(max 5%)")
    assert await market_orders(core) == []


async def test_the_deviation_allowed_is_a_setting(core: EngineCore) -> None:
    mark = await core.mark("ETHUSDT")
    off = signal("ETHUSDT", "buy", mark * Decimal("0.9"), 1)  # 10 % below
    loose = await core.executor(max_price_deviation_pct=Decimal(20)).handle(off)
    assert loose.status.value == "executed", loose.reason
    strict = await core.executor(max_price_deviation_pct=Decimal(5)).handle(
        signal("ETHUSDT", "buy", mark * Decimal("0.9"), 2)
    )
    assert strict.reason.startswith("price: "), strict.reason


async def test_an_accepted_signal_is_sized_at_the_mark_not_at_its_price(
    core: EngineCore,
) -> None:
    mark = await core.mark("ETHUSDT")
    filters = await core.exchange.symbol_filters("ETHUSDT")
    near = signal("ETHUSDT", "buy", mark * Decimal("0.97"), 1)  # within the 5 % allowed
    decision = await core.executor(default_notional=Decimal(100)).handle(near)
    assert decision.status.value == "executed", decision.reason
    (order,) = await market_orders(core)
    assert Decimal(str(order["executedQty"])) == filters.round_quantity(Decimal(100) / mark)


async def test_a_close_is_not_refused_for_its_price(core: EngineCore) -> None:
    mark = await core.mark("ETHUSDT")
    executor = core.executor()
    assert (await executor.handle(signal("ETHUSDT", "buy", mark, 1))).status.value == "executed"
    closing = await executor.handle(signal("ETHUSDT", "close", mark / 100, 2))
    assert closing.status.value == "executed", closing.reason  # cutting risk is never blocked
    assert await core.store.get_open_positions(symbol="ETHUSDT") == []


# -- exposure at the mark ------------------------------------------------------------------


async def test_a_position_is_valued_at_its_mark_not_its_entry(core: EngineCore) -> None:
    mark = await core.mark("ETHUSDT")
    # 0.2 ETH entered at a tenth of today's price: 1/10 of its notional at entry.
    await open_position_at(core, "ETHUSDT", "0.2", mark / 10)
    executor = core.executor(max_position_notional=(mark * Decimal("0.2")) / 2)
    decision = await executor.handle(signal("ETHUSDT", "buy", mark, 1))
    assert decision.reason.startswith("risk: max position notional"), decision.reason
    assert await market_orders(core) == []


async def test_other_symbols_exposure_is_valued_at_their_marks(core: EngineCore) -> None:
    eth = await core.mark("ETHUSDT")
    await open_position_at(core, "ETHUSDT", "1", eth / 10)  # worth ~10x its entry notional
    account = await core.exchange.account()
    # The limit sits between the ETH position at entry and at mark.
    limit = (eth * Decimal("0.5")) / account.equity
    executor = core.executor(max_total_exposure=limit)
    btc = await core.mark("BTCUSDT")
    decision = await executor.handle(signal("BTCUSDT", "buy", btc, 1))
    assert decision.reason.startswith("risk: max total exposure"), decision.reason


async def test_an_unreadable_mark_of_another_symbol_counts_it_at_entry(
    core: EngineCore, caplog: pytest.LogCaptureFixture
) -> None:
    # The simulator does not list DOGEUSDT: its mark cannot be read.
    await open_position_at(core, "DOGEUSDT", "100", Decimal("0.1"))
    btc = await core.mark("BTCUSDT")
    with caplog.at_level(logging.WARNING, logger="petrosa.tradeengine.executor"):
        decision = await core.executor().handle(signal("BTCUSDT", "buy", btc, 1))
    assert decision.status.value == "executed", decision.reason
    assert any("DOGEUSDT" in r.getMessage() for r in caplog.records)


# -- the signal's time -----------------------------------------------------------------------


async def test_a_signal_from_the_future_is_refused(core: EngineCore) -> None:
    mark = await core.mark("BTCUSDT")
    future = dt.datetime(2999, 1, 1, tzinfo=dt.UTC)
    decision = await core.executor().handle(signal("BTCUSDT", "buy", mark, 1, timestamp=future))
    assert decision.status.value == "rejected"
    assert decision.reason.startswith("future: stamped 2999-01-01"), decision.reason
    assert await market_orders(core) == []


async def test_a_signal_a_little_ahead_is_within_the_clock_skew_allowed(core: EngineCore) -> None:
    mark = await core.mark("BTCUSDT")
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    lenient = core.executor(max_clock_skew_s=300.0)
    decision = await lenient.handle(signal("BTCUSDT", "buy", mark, 1, timestamp=ahead))
    assert decision.status.value == "executed", decision.reason
    strict = await core.executor(max_clock_skew_s=5.0).handle(
        signal("BTCUSDT", "buy", mark, 2, timestamp=ahead)
    )
    assert strict.reason.startswith("future: "), strict.reason


async def test_refusals_before_any_read(core: EngineCore) -> None:
    mark = await core.mark("BTCUSDT")
    executor = core.executor(symbols=("BTCUSDT", "ETHUSDT"))
    hold = await executor.handle(signal("BTCUSDT", "hold", mark, 1))
    assert (hold.status.value, hold.reason) == ("rejected", "hold: nothing to do")
    alert = await executor.handle(signal("BTCUSDT", "alert", mark, 5))
    assert (alert.status.value, alert.reason) == ("rejected", "alert: not a trading action")
    unknown = await executor.handle(signal("XRPUSDT", "buy", Decimal("0.4"), 2))
    assert unknown.reason == "unknown symbol XRPUSDT"
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    stale = await executor.handle(signal("BTCUSDT", "buy", mark, 3, timestamp=an_hour_ago))
    assert stale.reason.startswith("stale:")
    too_big = signal("BTCUSDT", "buy", mark, 4, quantity=str(round(5_000 / mark, 3)))
    assert (await executor.handle(too_big)).reason.startswith("risk: max position notional")
    assert await market_orders(core) == []


# -- orders, positions and protection --------------------------------------------------------


async def test_protective_orders_follow_the_entry_and_go_with_the_close(core: EngineCore) -> None:
    executor = core.executor()
    btc, eth = await core.mark("BTCUSDT"), await core.mark("ETHUSDT")
    long = signal("BTCUSDT", "buy", btc, 1, stop_loss_pct="2", take_profit_pct="3")
    short = signal("ETHUSDT", "sell", eth, 2, stop_loss_pct="2", take_profit_pct="3")
    for entry in (long, short):
        decision = await executor.handle(entry)
        assert decision.status.value == "executed", decision.reason
        assert (await executor.handle(entry)).status.value == "duplicate"

    resting = {
        (o["symbol"], o["orderType"]): o
        for o in await core.algo_orders()
        if o["algoStatus"] == "NEW"
    }
    (btc_long,) = await core.store.get_open_positions(symbol="BTCUSDT")
    (eth_short,) = await core.store.get_open_positions(symbol="ETHUSDT")
    assert (btc_long.side, eth_short.side) == (PositionSide.LONG, PositionSide.SHORT)
    stop, take = resting["BTCUSDT", "STOP_MARKET"], resting["BTCUSDT", "TAKE_PROFIT_MARKET"]
    assert stop["side"] == take["side"] == "SELL"  # a long is protected by sells …
    assert Decimal(stop["triggerPrice"]) < btc_long.entry_price < Decimal(take["triggerPrice"])
    stop, take = resting["ETHUSDT", "STOP_MARKET"], resting["ETHUSDT", "TAKE_PROFIT_MARKET"]
    assert stop["side"] == take["side"] == "BUY"  # … a short by buys, stop above entry
    assert Decimal(take["triggerPrice"]) < eth_short.entry_price < Decimal(stop["triggerPrice"])

    closed = await executor.handle(signal("BTCUSDT", "close", btc, 3))
    assert closed.status.value == "executed", closed.reason
    still_resting = [o for o in await core.algo_orders() if o["algoStatus"] == "NEW"]
    assert {o["symbol"] for o in still_resting} == {"ETHUSDT"}  # BTC's protection cancelled
    recorded = await executor.ledger.store.query("tradeengine_orders", {}, limit=10)
    assert {o["signal_id"] for o in recorded} == {"test-BTCUSDT-1", "test-ETHUSDT-2",
                                                  "test-BTCUSDT-3"}  # fmt: skip


async def test_a_protective_order_filled_on_the_exchange_is_applied_once(
    core: EngineCore,
) -> None:
    executor = core.executor()
    btc = await core.mark("BTCUSDT")
    tight = signal("BTCUSDT", "buy", btc, 1, quantity="0.003", stop_loss_pct="0.05",
                   take_profit_pct="0.05")  # fmt: skip
    assert (await executor.handle(tight)).status.value == "executed"
    assert len([o for o in await core.algo_orders() if o["algoStatus"] == "NEW"]) == 2

    core.advance(6 * HOUR_MS)  # the price crosses one of them (both, likely) on the way
    (position,) = await core.store.get_open_positions(symbol="BTCUSDT")
    assert await executor.settle_protection(position) == 1
    assert await core.store.get_open_positions(symbol="BTCUSDT") == []
    (closed,) = await core.store.list_positions(symbol="BTCUSDT", status="closed")
    algo = await core.algo_orders()
    (finished,) = [o for o in algo if o["algoStatus"] == "FINISHED"]
    fired = {o["orderId"]: o for o in await core.orders()}[int(str(finished["actualOrderId"]))]
    assert closed.metadata["fills"][-1] == fired["orderId"]
    assert closed.exit_price == Decimal(str(fired["avgPrice"]))
    assert closed.closed_at is not None
    days = {closed.opened_at.date(), closed.closed_at.date()}
    total = sum([(await core.store.get_daily_pnl(day)).total for day in days], Decimal(0))
    assert total == closed.realized_pnl  # the entry fee and the protective fill, once each
    assert [o for o in algo if o["algoStatus"] == "NEW"] == []


async def test_concurrent_signals_of_one_replica_add_to_one_position(core: EngineCore) -> None:
    # The lease is the replica's (re-acquiring it as the same owner succeeds), so tasks of
    # one replica must still take turns on a symbol, or they would all open a position.
    # The limit is far from eight orders: this is about turns, not about the risk limits.
    executor = core.executor(max_position_notional=Decimal(1_000_000))
    btc = await core.mark("BTCUSDT")
    signals = [signal("BTCUSDT", "buy", btc, index) for index in range(8)]
    decisions = await asyncio.gather(*(executor.handle(s) for s in signals))
    assert [d.status.value for d in decisions] == ["executed"] * 8, decisions
    orders = await market_orders(core)
    assert len(orders) == 8
    (position,) = await core.store.get_open_positions(symbol="BTCUSDT")
    assert await core.store.list_positions(symbol="BTCUSDT") == [position]
    daily = await core.store.get_daily_pnl(dt.datetime.now(dt.UTC).date())
    assert sorted(position.metadata["fills"]) == sorted(o["orderId"] for o in orders)
    assert position.quantity == sum((Decimal(str(o["executedQty"])) for o in orders), Decimal(0))
    assert daily.event_count == 8
    assert daily.total == -position.fees  # opening fills realize only their fees


async def test_a_wiped_coordination_store_does_not_wedge_fenced_positions(
    core: EngineCore, tmp_path: Path
) -> None:
    # Position writes are fenced by the symbol lock's token; a coordination store deleted
    # and recreated must not hand out tokens below the ones the positions already hold.
    coordination = tmp_path / "coordination.db"
    eth = await core.mark("ETHUSDT")

    def executor_on(locks: Locks) -> Executor:
        settings = core.executor().settings
        return Executor(settings, core.store, core.exchange, locks)

    async with Locks.from_url(f"sqlite:///{coordination}") as before:
        for index in (1, 2, 3):  # each decision is a new tenure of the lock: a new token
            buy = await executor_on(before).handle(signal("ETHUSDT", "buy", eth, index))
            assert buy.status.value == "executed", buy.reason
    coordination.unlink()
    async with Locks.from_url(f"sqlite:///{coordination}") as after:
        closed = await executor_on(after).handle(signal("ETHUSDT", "close", eth, 4))
    assert closed.status.value == "executed", closed.reason
    assert await core.store.get_open_positions(symbol="ETHUSDT") == []
