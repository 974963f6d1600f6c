"""Live = backtest (issue 10, section 3): a window replayed through the live service —
extractor events → Data Manager candles → signals on NATS — yields exactly the signals
``backtest_signals`` finds for that window, by id, side and levels.

Real parts: the exchange simulator and a Data Manager (SQLite) in processes, NATS, the
extractor job and one TA bot in-process on the simulator's time (``tests.support.tabot_chain``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client

from petrosa.client import DataManagerClient
from petrosa.contracts.signals import Signal
from petrosa.tabot import BY_ID
from petrosa.tabot.backtest import Chosen, DataManagerCandles, Spec, backtest_signals
from tests.support.server import start_data_manager
from tests.support.services import NATS_HOST, NATS_PORT, require_port
from tests.support.tabot_chain import (
    ALL,
    FIRST_CANDLE,
    INTERVAL,
    NATS_URL,
    WARM_UP_HOURS,
    Chain,
    SimClock,
    remove_leftover_streams,
    start_simulator,
)

pytestmark = pytest.mark.integration

SYMBOLS = ("PARITYAUSDT", "PARITYBUSDT")
CANDLES = 24
"""Evaluated per symbol: six hours of 15m candles."""
STEP_MS = INTERVAL.milliseconds or 0
FIRST_MS = int(FIRST_CANDLE.timestamp() * 1000)
DEADLINE_S = 120.0


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[str, str]]:
    require_port("NATS", NATS_HOST, NATS_PORT)
    sim = start_simulator(tmp_path, SYMBOLS, FIRST_MS + STEP_MS)
    try:
        dm = start_data_manager(f"sqlite:///{tmp_path / 'dm.db'}", tmp_path)
    except BaseException:
        sim.stop()
        raise
    yield sim.base_url, dm.base_url
    sim.stop()
    dm.stop()


@pytest.fixture
async def nc() -> AsyncIterator[Client]:
    client = await nats.connect(NATS_URL)
    await remove_leftover_streams(client.jetstream(), SYMBOLS)
    yield client
    await client.close()


async def settle(chain: Chain, nc: Client, events: int) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await chain.events_settled(nc.jetstream(), events):
        assert time.monotonic() < deadline, "timed out waiting for the events"
        await asyncio.sleep(0.05)


async def live_signals(nc: Client, stream: str) -> list[Signal]:
    js = nc.jetstream()
    info = await js.stream_info(stream)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        if info.state.messages == 0:
            break
        message = await js.get_msg(stream, seq)
        assert message.data is not None
        found.append(Signal.model_validate_json(message.data))
    return found


async def test_a_window_replayed_live_gives_exactly_the_backtest_signals(
    servers: tuple[str, str], nc: Client
) -> None:
    sim_url, dm_url = servers
    chain = Chain(SYMBOLS, sim_url, dm_url, SimClock(FIRST_MS + STEP_MS))
    series = len(SYMBOLS) * 2
    try:
        async with DataManagerClient(dm_url) as dm, httpx.AsyncClient(timeout=30) as http:
            await chain.configure(dm)
            bot = chain.bot("parity")
            await bot.start()
            deadline = time.monotonic() + DEADLINE_S
            while not (await bot.readiness())[0]:  # its stream keeps the events from now on
                assert time.monotonic() < deadline, "the bot is not ready"
                await asyncio.sleep(0.05)
            events = series
            await chain.extract(WARM_UP_HOURS)
            await settle(chain, nc, events)
            for _ in range(CANDLES - 1):
                await chain.advance(http)
                await chain.extract(1.0)
                events += series
                await settle(chain, nc, events)
            live = await live_signals(nc, chain.settings.signals_stream)
            expected = await backtest_signals(
                DataManagerCandles(dm),
                [Chosen.defaults(BY_ID[s]) for s in ALL],
                Spec(SYMBOLS, INTERVAL, FIRST_MS, FIRST_MS + CANDLES * STEP_MS),
            )
    finally:
        for running in chain.bots:
            await running.stop()
        await chain.cleanup(nc.jetstream())

    assert len(expected) >= 5
    by_id = {s.id: s for s in live}
    assert len(by_id) == len(live)
    assert sorted(by_id) == sorted(s.id for s in expected)
    for want in expected:
        got = by_id[want.id]
        assert (got.strategy_id, got.symbol, got.action, got.candle_open_time) == (
            want.strategy_id, want.symbol, want.action, want.candle_open_time,
        )  # fmt: skip
        assert got.price == want.price
        for a, b in ((got.stop_loss, want.stop_loss), (got.take_profit, want.take_profit)):
            assert a is not None
            assert b is not None
            assert abs(float(a) - float(b)) <= 1e-6 * abs(float(b))
        assert got.confidence == pytest.approx(want.confidence, rel=1e-6)
