"""The per-replica account cache: one exchange read per TTL, shared by concurrent callers."""

from __future__ import annotations

import asyncio
import gc
import logging
from decimal import Decimal

import pytest

from petrosa.exchange.trading import AccountSnapshot
from petrosa.tradeengine.account import AccountCache, MarkCache


class CountingExchange:
    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()

    async def account(self) -> AccountSnapshot:
        self.calls += 1
        await self.gate.wait()
        return snapshot(Decimal(1000 + self.calls))


def snapshot(equity: Decimal) -> AccountSnapshot:
    zero = Decimal(0)
    return AccountSnapshot(
        asset="USDT", wallet_balance=equity, unrealized_pnl=zero, margin_balance=equity,
        available_balance=equity, initial_margin=zero, maint_margin=zero, update_time=None,
    )  # fmt: skip


async def test_concurrent_callers_share_one_read_and_the_ttl_bounds_reuse() -> None:
    exchange = CountingExchange()
    now = [0.0]
    cache = AccountCache(exchange, 2.0, clock=lambda: now[0])  # type: ignore[arg-type]
    waiting = [asyncio.create_task(cache.get()) for _ in range(5)]
    await asyncio.sleep(0)
    exchange.gate.set()
    first = await asyncio.gather(*waiting)
    assert exchange.calls == 1
    assert {s.equity for s in first} == {Decimal(1001)}
    now[0] = 1.9
    assert (await cache.get()).equity == Decimal(1001)
    assert exchange.calls == 1
    now[0] = 2.0
    assert (await cache.get()).equity == Decimal(1002)
    assert exchange.calls == 2


async def test_a_failed_read_is_not_cached() -> None:
    class Failing(CountingExchange):
        async def account(self) -> AccountSnapshot:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("exchange unreachable")
            return snapshot(Decimal(5))

    exchange = Failing()
    cache = AccountCache(exchange, 2.0, clock=lambda: 0.0)  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        await cache.get()
    assert (await cache.get()).equity == Decimal(5)
    assert exchange.calls == 2


async def test_marks_are_reused_per_symbol_for_the_ttl() -> None:
    class Marks:
        def __init__(self) -> None:
            self.asked: list[str] = []

        async def mark_price(self, symbol: str) -> Decimal:
            self.asked.append(symbol)
            return Decimal(len(self.asked))

    exchange = Marks()
    now = [0.0]
    cache = MarkCache(exchange, 2.0, clock=lambda: now[0])  # type: ignore[arg-type]
    both = await asyncio.gather(cache.get("BTCUSDT"), cache.get("ETHUSDT"), cache.get("BTCUSDT"))
    assert sorted(exchange.asked) == ["BTCUSDT", "ETHUSDT"]
    assert both[0] == both[2]
    now[0] = 2.0
    assert await cache.get("ETHUSDT") == Decimal(3)
    assert exchange.asked[-1] == "ETHUSDT"


async def test_a_read_whose_only_caller_was_cancelled_is_not_reused_once_stale(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A decision cancelled while the shared read is in flight (a replica shutting down)
    leaves that read behind: its value ages out like any other, and its failure is
    neither kept nor left unretrieved."""
    exchange = CountingExchange()
    now = [0.0]
    cache = AccountCache(exchange, 2.0, clock=lambda: now[0])  # type: ignore[arg-type]
    abandoned = asyncio.create_task(cache.get())
    await asyncio.sleep(0)
    abandoned.cancel()
    await asyncio.gather(abandoned, return_exceptions=True)
    exchange.gate.set()
    await asyncio.sleep(0.01)  # the abandoned read completes on its own
    now[0] = 5.0  # past the TTL
    assert (await cache.get()).margin_balance == Decimal(1002)  # read again

    failing = MarkCache(FailingMarks(), 2.0, clock=lambda: now[0])  # type: ignore[arg-type]
    dropped = asyncio.create_task(failing.get("BTCUSDT"))
    await asyncio.sleep(0)
    dropped.cancel()
    await asyncio.gather(dropped, return_exceptions=True)
    await asyncio.sleep(0.01)
    with pytest.raises(ConnectionError):  # tried again, not the abandoned read's failure
        await failing.get("BTCUSDT")
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        del failing, dropped
        gc.collect()
    assert "never retrieved" not in caplog.text


class FailingMarks:
    def __init__(self) -> None:
        self.calls = 0

    async def mark_price(self, symbol: str) -> Decimal:
        self.calls += 1
        await asyncio.sleep(0)
        raise ConnectionError(f"exchange client closed ({self.calls})")
