"""The TA bot in the whole chain (issue 10, section 5), every part real.

Exchange simulator process → extractor job (candles into the Data Manager, completion
events on NATS) → Data Manager process (SQLite, and PostgreSQL) → NATS JetStream → two TA
bot replicas sharing the durable consumer → the trade engine on the simulator's paper
account. The simulated market moves one 15m candle at a time; the bots and the engine read
its time three minutes after each close (an extractor running late: the engine must still
take candle signals). Mid-run one replica is killed while it holds events.

What must hold: every event is analysed (the signals published are exactly the backtest's
for the evaluated candles, and the consumer has nothing pending), no signal twice (stream,
``ta_signals`` records, engine ledger), and one engine decision per signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from petrosa.client import DataManagerClient
from petrosa.contracts.signals import Signal
from petrosa.coordination import Locks, MemoryLeaseStore
from petrosa.exchange.binance import BinanceFuturesTrading
from petrosa.exchange.simulator.settings import PAPER_API_KEY, PAPER_API_SECRET
from petrosa.tabot import BY_ID
from petrosa.tabot.backtest import Chosen, DataManagerCandles, Spec, backtest_signals
from petrosa.tabot.service import TaBot
from petrosa.tradeengine.ledger import SIGNALS as LEDGER
from petrosa.tradeengine.service import Engine
from petrosa.tradeengine.settings import TradeEngineSettings
from tests.support.server import RunningServer, start_data_manager
from tests.support.services import (
    NATS_HOST,
    NATS_PORT,
    ThrowawayDatabase,
    create_database,
    drop_database,
    require_port,
)
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

SYMBOLS = ("TABOTAUSDT", "TABOTBUSDT", "TABOTCUSDT")
STEPS = 11
"""Candles closing after the first extraction: 12 evaluated per symbol."""
KILL_AT = 5
DEADLINE_S = 120.0
STEP_MS = INTERVAL.milliseconds or 0
FIRST_MS = int(FIRST_CANDLE.timestamp() * 1000)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThrowawayDatabase]:
    db = create_database(request.param, tmp_path)
    yield db
    drop_database(db)


@pytest.fixture
def servers(tmp_path: Path, database: ThrowawayDatabase) -> Iterator[tuple[str, str]]:
    """(simulator URL, Data Manager URL); the simulator just after the first candle closed."""
    require_port("NATS", NATS_HOST, NATS_PORT)
    sim = start_simulator(tmp_path, SYMBOLS, FIRST_MS + STEP_MS)
    dm: RunningServer | None = None
    try:
        dm = start_data_manager(database.url, tmp_path)
        yield sim.base_url, dm.base_url
    finally:
        sim.stop()
        if dm is not None:
            dm.stop()


@pytest.fixture
async def nc() -> AsyncIterator[Client]:
    client = await nats.connect(NATS_URL)
    await remove_leftover_streams(client.jetstream(), SYMBOLS)
    yield client
    await client.close()


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def ready(bot: TaBot) -> bool:
    return (await bot.readiness())[0]


@contextlib.asynccontextmanager
async def trade_engine(chain: Chain) -> AsyncIterator[Engine]:
    """The engine on the paper account, on the chain's signal subject and clock."""
    settings = chain.settings
    engine = Engine(
        TradeEngineSettings(
            replica=f"engine-{chain.tag}",
            symbols=SYMBOLS,
            nats_subject=settings.signals_subject,
            nats_stream=settings.signals_stream,
            nats_durable=f"tradeengine_e{chain.tag}",
            max_open_positions=100,
            max_total_exposure=100,
        ),
        store=DataManagerClient(chain.dm_url),
        exchange=BinanceFuturesTrading(PAPER_API_KEY, PAPER_API_SECRET, base_url=chain.sim_url),
        locks=Locks(MemoryLeaseStore()),
        nats_url=NATS_URL,
        clock=chain.clock.utc,
    )
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


async def published(js: JetStreamContext, stream: str) -> list[tuple[str | None, Signal]]:
    """Every message of the signal stream: its Nats-Msg-Id and the signal."""
    info = await js.stream_info(stream)
    found: list[tuple[str | None, Signal]] = []
    if info.state.messages == 0:
        return found
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(stream, seq)
        assert message.data is not None
        found.append(
            ((message.headers or {}).get("Nats-Msg-Id"), Signal.model_validate_json(message.data))
        )
    return found


async def kill_while_busy(bot: TaBot) -> None:
    """Stop ``bot`` abruptly, if possible while it handles events: whatever it holds is
    neither acknowledged nor finished (redelivered to the other replica after ack_wait)."""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        if bot.events is not None and bot.events._handling:
            break
        await asyncio.sleep(0.001)
    await bot.stop()


async def test_the_chain_signals_every_candle_once_and_the_engine_decides_each_once(
    tmp_path: Path, servers: tuple[str, str], nc: Client
) -> None:
    sim_url, dm_url = servers
    chain = Chain(SYMBOLS, sim_url, dm_url, SimClock(FIRST_MS + STEP_MS))
    js = nc.jetstream()
    series = len(SYMBOLS) * 2  # INTERVAL and its higher timeframe
    try:
        async with (
            DataManagerClient(dm_url) as dm,
            httpx.AsyncClient(timeout=30) as http,
            trade_engine(chain) as engine,
        ):
            await chain.configure(dm)
            one, two = chain.bot("one"), chain.bot("two")
            for bot in (one, two):
                await bot.start()
            for bot in (one, two):
                await eventually(lambda bot=bot: ready(bot), "the bots ready")  # type: ignore[misc]
            assert engine.consumer is not None
            await eventually(lambda: _true(engine.selftest_error is None), "the engine ready")

            stream = chain.settings.signals_stream

            async def settled(events: int) -> None:
                """Every event handled and every signal decided: only then may the next
                candle close (a bot evaluates the last candle closed by its clock, and the
                engine judges a signal's age by it)."""
                await eventually(lambda: chain.events_settled(js, events), "events handled")

                async def decided() -> bool:
                    ids = {signal.id for _, signal in await published(js, stream)}
                    done = await dm.query(LEDGER, {"stage": "done"}, limit=1_000)
                    return {r["_id"] for r in done} >= ids

                await eventually(decided, "the engine's decisions")

            events = 0
            await chain.extract(WARM_UP_HOURS)
            events += series
            await settled(events)
            for step in range(1, STEPS + 1):
                await chain.advance(http)
                await chain.extract(1.0)
                events += series
                if step == KILL_AT:
                    await kill_while_busy(two)
                await settled(events)

            signals = await published(js, stream)
            ids = [signal.id for _, signal in signals]
            ledger = await dm.query(LEDGER, {}, limit=1_000)
            records = await dm.query(chain.settings.signals_collection, {}, limit=1_000)
            orders = (await http.get(f"{sim_url}/sim/orders")).json()["orders"]

            expected = await backtest_signals(
                DataManagerCandles(dm),
                [Chosen.defaults(BY_ID[s]) for s in ALL],
                Spec(SYMBOLS, INTERVAL, FIRST_MS, FIRST_MS + (STEPS + 1) * STEP_MS),
            )
    finally:
        for bot in chain.bots:
            await bot.stop()
        await chain.cleanup(js)

    assert len(expected) >= 5, "the chosen candles make signals"
    # every event analysed: exactly the backtest's signals for the evaluated candles
    assert sorted(ids) == sorted(s.id for s in expected)
    assert len(ids) == len(set(ids)), "a signal published twice"
    assert all(msg_id == signal.id for msg_id, signal in signals)
    assert sorted(r["_id"] for r in records if r["kind"] == "signal") == sorted(ids)
    # the engine: one decision per signal, none twice, every one taken on time
    assert sorted(r["_id"] for r in ledger) == sorted(ids)
    assert all(r["stage"] == "done" for r in ledger)
    reasons = [r["decision"].get("reason") or "" for r in ledger]
    assert not [r for r in reasons if r.startswith("stale")], reasons
    client_ids = [o["clientOrderId"] for o in orders]
    assert len(client_ids) == len(set(client_ids))
    assert any(r["decision"]["status"] == "executed" for r in ledger), ledger[:3]
    # both replicas took part (the killed one had events of its own)
    assert all(_evaluated(bot) > 0 for bot in chain.bots)


def _evaluated(bot: TaBot) -> float:
    sample = bot.metrics.registry.get_sample_value(
        "petrosa_tabot_events_total", {"source": "extractor", "outcome": "evaluated"}
    )
    return sample or 0.0


async def _true(value: bool) -> bool:
    return value
