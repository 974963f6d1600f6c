"""The TA bot's chain on real parts, for its end-to-end and parity tests.

Exchange simulator process (frozen clock, moved forward one candle at a time) → the
extractor's job (in-process, ``run_extraction``: candles into the Data Manager, completion
events on NATS) → TA bot replicas in-process on the simulator's time. The symbols are the
chain's own (the simulator derives a market from any name, the same one on every run), so
the candles, and the signals they lead to, are the same on every run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from petrosa.client import DataManagerClient
from petrosa.contracts import Interval, Market
from petrosa.extractor.jobs import run_extraction
from petrosa.extractor.outcome import SeriesOutcome
from petrosa.extractor.request import Dataset, JobRequest
from petrosa.extractor.runner import Progress
from petrosa.tabot import CATALOGUE, higher_interval
from petrosa.tabot.service import TaBot, TabotSettings
from petrosa.tabot.service.streams import events_subjects
from tests.support.server import RunningServer, start_service
from tests.support.services import NATS_HOST, NATS_PORT

NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"
INTERVAL = Interval.M15
HIGHER = higher_interval(INTERVAL)
"""Extracted too: ``multi_timeframe_trend_continuation`` reads it."""
FIRST_CANDLE = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
"""Open time of the first candle the chain evaluates (the simulator's market is seeded)."""
WARM_UP_HOURS = 450.0
"""History of the first extraction: every strategy's rows on 15m (1,590) and the higher
timeframe's (396 1h rows)."""
LAG_S = 180.0
"""The bots and the engine run this far behind the candle close, as a deployment whose
extractor runs minutes after it (the engine must still take the candle signals)."""
ALL = tuple(s.id for s in CATALOGUE)


@dataclass
class SimClock:
    """The simulator's frozen time, as the test moved it."""

    now_ms: int

    def seconds(self) -> float:
        """What the bots' and engine's clocks read: the simulated time, ``LAG_S`` later."""
        return self.now_ms / 1000 + LAG_S

    def utc(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.seconds(), dt.UTC)


def start_simulator(log_dir: Path, symbols: tuple[str, ...], clock_start_ms: int) -> RunningServer:
    start = dt.datetime.fromtimestamp(clock_start_ms / 1000, dt.UTC).isoformat()
    return start_service(
        "exchange-sim",
        ["exchange-sim", "serve", "--clock-start", start, "--freeze-clock"],
        log_dir,
        ready_path="/health/liveness",
        extra_env={
            "EXCHANGE_SIM_SYMBOLS": ",".join(symbols),
            "EXCHANGE_SIM_FUTURES_WEIGHT_LIMIT": "1000000",
        },
    )


@dataclass
class Chain:
    """One run's names and parts (streams, consumers, collections of its own)."""

    symbols: tuple[str, ...]
    sim_url: str
    dm_url: str
    clock: SimClock
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    bots: list[TaBot] = field(default_factory=list)

    @property
    def settings(self) -> TabotSettings:
        tag = self.tag
        return TabotSettings(
            nats_url=NATS_URL,
            symbols=self.symbols,
            timeframes=(INTERVAL,),
            events_stream=f"KLINE_EVENTS_E{tag}",
            events_durable=f"tabot_e{tag}",
            socket_klines=False,
            signals_stream=f"SIGNALS_E{tag}",
            signals_subject=f"signals.trading.e{tag}",
            signals_collection=f"ta_signals_e{tag}",
            config_key=f"tabot.e{tag}",
            config_poll_s=0.5,
            retry_delay_s=0.5,
            ack_wait_s=5.0,
        )

    async def configure(self, dm: DataManagerClient, enabled: tuple[str, ...] = ALL) -> None:
        document = {
            "enabled": list(enabled),
            "symbols": list(self.symbols),
            "timeframes": [INTERVAL.value],
        }
        await dm.set_app_config(self.settings.config_key, document, changed_by="test")

    def bot(self, replica: str) -> TaBot:
        settings = self.settings.model_copy(update={"replica": replica})
        running = TaBot(settings, DataManagerClient(self.dm_url), clock=self.clock.seconds)
        self.bots.append(running)
        return running

    async def advance(self, http: httpx.AsyncClient, candles: int = 1) -> None:
        """Move the simulated market forward by whole candles of ``INTERVAL``."""
        step = INTERVAL.milliseconds
        assert step is not None
        answer = await http.post(f"{self.sim_url}/sim/clock/advance", params={"ms": candles * step})
        answer.raise_for_status()
        self.clock.now_ms = int(answer.json()["serverTime"])

    async def extract(self, hours: float) -> list[SeriesOutcome]:
        """``petrosa extract klines`` for the chain's symbols on ``INTERVAL`` and ``HIGHER``
        (the job function, in this process, configured by the environment like the CLI)."""
        outcomes: list[SeriesOutcome] = []
        env = {
            "BINANCE_FUTURES_API_URL": self.sim_url,
            "DATA_MANAGER_URL": self.dm_url,
            "NATS_URL": NATS_URL,
        }
        with _environment(env):
            for interval in (INTERVAL, HIGHER):
                request = JobRequest(
                    dataset=Dataset.KLINES,
                    symbols=list(self.symbols),
                    lookback_ms=int(hours * 3_600_000),
                    concurrency=4,
                    until_ms=None,
                    dry_run=False,
                    market=Market.FUTURES,
                    interval=interval,
                    deadline_s=120.0,
                )
                outcomes += await run_extraction(request, Progress())
        failed = [o for o in outcomes if not o.success or o.event_state.value != "delivered"]
        assert not failed, failed
        return outcomes

    async def events_settled(self, js: JetStreamContext, published: int) -> bool:
        """Every event published so far is in the stream, delivered and acknowledged."""
        settings = self.settings
        stream = await js.stream_info(settings.events_stream)
        if stream.state.messages < published:
            return False
        info = await js.consumer_info(settings.events_stream, settings.events_durable)
        return bool(
            info.num_pending == 0
            and info.num_ack_pending == 0
            and info.delivered.stream_seq == stream.state.last_seq
        )

    async def cleanup(self, js: JetStreamContext) -> None:
        for name in (self.settings.events_stream, self.settings.signals_stream):
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(name)


async def remove_leftover_streams(js: JetStreamContext, symbols: tuple[str, ...]) -> None:
    """Streams an interrupted earlier run left on the chain's event subjects (NATS refuses
    a second stream on the same subjects)."""
    ours = set(events_subjects(symbols))
    for info in await js.streams_info():
        if ours & set(info.config.subjects or []):
            assert info.config.name is not None
            await js.delete_stream(info.config.name)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
