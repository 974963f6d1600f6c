"""One trade-engine replica in this process: a Data Manager app on SQLite and the exchange
simulator, both over in-process HTTP transports, and locks on an in-memory lease store.

The engine is built as ``petrosa.tradeengine.wiring`` builds it, only with these
collaborators; tests drive it directly or through its HTTP app.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from petrosa.client import DataManagerClient
from petrosa.contracts.trading import PositionIn, PositionSide
from petrosa.coordination import Locks, MemoryLeaseStore
from petrosa.datamanager.app import create_app as create_data_manager
from petrosa.datamanager.settings import DataManagerSettings
from petrosa.exchange.binance import BinanceFuturesTrading
from petrosa.exchange.simulator.app import create_app as create_simulator
from petrosa.exchange.simulator.settings import (
    PAPER_API_KEY,
    PAPER_API_SECRET,
    SimulatorSettings,
)
from petrosa.tradeengine.service import Engine
from petrosa.tradeengine.settings import TradeEngineSettings

LISTED = ("BTCUSDT", "ETHUSDT")
"""The symbols the simulator lists."""
DM_URL, SIM_URL = "http://data-manager.test", "http://exchange.test"
DEADLINE_S = 60.0
"""How long a poll waits for a condition (generous: the machine may be busy)."""


@dataclass
class Rig:
    engine: Engine
    dm: DataManagerClient
    """A client of the same Data Manager, for the test's own reads and writes."""
    dm_app: FastAPI


@asynccontextmanager
async def engine_rig(
    tmp_path: Path,
    *,
    nats_url: str | None = None,
    store_transport: httpx.AsyncBaseTransport | None = None,
    **settings: Any,
) -> AsyncIterator[Rig]:
    """An engine, not started; ``settings`` override ``TradeEngineSettings`` fields.
    ``store_transport`` replaces the engine's way to the Data Manager (an outage, say)."""
    dm_app = create_data_manager(
        DataManagerSettings(database_url=SecretStr(f"sqlite:///{tmp_path / 'dm.db'}"))
    )
    async with dm_app.router.lifespan_context(dm_app):
        dm_transport = httpx.ASGITransport(app=dm_app)
        simulator = create_simulator(SimulatorSettings(symbols=LISTED))
        engine = Engine(
            TradeEngineSettings(
                replica=f"rig-{uuid.uuid4().hex[:6]}",
                symbols=(*LISTED, "XRPUSDT"),
                max_signal_age_s=600,
                **settings,
            ),
            store=DataManagerClient(DM_URL, transport=dm_transport)
            if store_transport is None
            else DataManagerClient(DM_URL, transport=store_transport, max_attempts=1),
            exchange=BinanceFuturesTrading(
                PAPER_API_KEY,
                PAPER_API_SECRET,
                base_url=SIM_URL,
                transport=httpx.ASGITransport(app=simulator),
            ),
            locks=Locks(MemoryLeaseStore()),
            nats_url=nats_url,
        )
        async with DataManagerClient(DM_URL, transport=dm_transport) as dm:
            try:
                yield Rig(engine, dm, dm_app)
            finally:
                await engine.stop()


async def started(engine: Engine) -> Engine:
    """``engine`` started and past its self-test (its collections declared)."""
    await engine.start()
    await eventually(lambda: _prepared(engine), "the engine's self-test to pass")
    return engine


async def _prepared(engine: Engine) -> bool:
    return engine.selftest_error is None and engine.election.running


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``condition`` until it holds, or fail after ``DEADLINE_S``."""
    deadline = time.monotonic() + DEADLINE_S
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def signal_body(symbol: str = "BTCUSDT", **fields: Any) -> dict[str, Any]:
    """A valid buy signal as JSON, with ``fields`` replaced."""
    return {
        "signal_id": f"rig-{uuid.uuid4().hex}",
        "strategy_id": "rig",
        "symbol": symbol,
        "action": "buy",
        "confidence": 0.5,
        "price": "100",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        **fields,
    }


async def store_open_position(
    dm: DataManagerClient, symbol: str, *, metadata: dict[str, Any] | None = None
) -> str:
    """An open long position (2 at 10, unrealized P&L 1.5 as last stored) written straight
    into the Data Manager; returns its id."""
    position_id = f"rig-{symbol}-{uuid.uuid4().hex[:8]}"
    await dm.upsert_position(
        position_id,
        PositionIn(
            strategy_id="rig",
            symbol=symbol,
            side=PositionSide.LONG,
            quantity=Decimal("2"),
            entry_price=Decimal("10"),
            unrealized_pnl=Decimal("1.5"),
            opened_at=dt.datetime.now(dt.UTC),
            metadata=metadata or {},
        ),
    )
    return position_id
