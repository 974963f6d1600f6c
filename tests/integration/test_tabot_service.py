"""The TA bot service on real parts: NATS JetStream (127.0.0.1:4222) and a Data Manager
process (``petrosa data-manager serve``) on SQLite. The bot runs in-process (one or two
replicas) with streams, durable consumers, symbols and config key of its own per test.

Candles are written into the Data Manager through the client; the series is the one on
which ``bollinger_breakout_signals`` must fire in tests/unit/tabot/test_strategies.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import orjson
import pytest
from nats.aio.client import Client
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError

from petrosa.client import DataManagerClient
from petrosa.contracts import Interval
from petrosa.contracts.events import ExtractionCompleted, klines_subject
from petrosa.contracts.signals import Signal
from petrosa.tabot.service import TaBot, TabotSettings, create_app
from petrosa.tabot.service.streams import kline_filter
from tests.support.server import RunningServer, start_data_manager
from tests.support.services import NATS_HOST, NATS_PORT, require_port
from tests.support.tcp_proxy import FaultyTcpProxy
from tests.unit.tabot.shapes import Candle, candle, flat

pytestmark = pytest.mark.integration

NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"
DEADLINE_S = 90.0
STRATEGY = "bollinger_breakout_signals"
FIRES: list[Candle] = [*flat(40, swing=0.03), candle(100, 100.5, 95.5, 96)]
"""The last candle closes under the lower band: a buy."""


@pytest.fixture(scope="module")
def data_manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("tabot-dm")
    server = start_data_manager(f"sqlite:///{folder / 'dm.db'}", folder)
    yield server
    server.stop()


@pytest.fixture
async def nc() -> AsyncIterator[Client]:
    require_port("NATS", NATS_HOST, NATS_PORT)
    client = await nats.connect(NATS_URL)
    yield client
    await client.close()


@dataclass
class Run:
    """Names of this test alone, and what it started."""

    tag: str
    symbol: str
    settings: TabotSettings
    dm: DataManagerClient

    @property
    def subject(self) -> str:
        return self.settings.signals_subject


@pytest.fixture
async def run(nc: Client, data_manager: RunningServer) -> AsyncIterator[Run]:
    tag = uuid.uuid4().hex[:8].upper()
    settings = TabotSettings(
        nats_url=NATS_URL,
        symbols=(f"T{tag}USDT",),
        timeframes=(Interval.M15, Interval.D1),
        events_stream=f"KLINE_EVENTS_T{tag}",
        events_durable=f"tabot_t{tag}",
        klines_stream=f"BINANCE_KLINES_T{tag}",
        klines_durable=f"tabot_klines_t{tag}",
        signals_stream=f"SIGNALS_T{tag}",
        signals_subject=f"signals.trading.t{tag.lower()}",
        signals_collection=f"ta_signals_t{tag.lower()}",
        config_key=f"tabot.t{tag.lower()}",
        config_poll_s=0.5,
        retry_delay_s=0.5,
    )
    async with DataManagerClient(data_manager.base_url) as dm:
        await dm.set_app_config(settings.config_key, {"enabled": [STRATEGY]}, changed_by="test")
        yield Run(tag, settings.symbols[0], settings, dm)
    js = nc.jetstream()
    for stream in (settings.events_stream, settings.signals_stream, f"BINANCE_KLINES_T{tag}"):
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream)


@contextlib.asynccontextmanager
async def bot(run: Run, dm_url: str, **changes: Any) -> AsyncIterator[TaBot]:
    settings = run.settings.model_copy(update=changes)
    running = TaBot(settings, DataManagerClient(dm_url))
    await running.start()
    try:
        await eventually(lambda: ready(running), "the bot to be ready")
        yield running
    finally:
        await running.stop()


async def ready(running: TaBot) -> bool:
    return (await running.readiness())[0]


async def eventually(condition: Any, what: str, deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def now_ms() -> int:
    return int(time.time() * 1000)


async def store(run: Run, interval: Interval, candles: list[Candle], last_open: int) -> None:
    step = interval.milliseconds
    assert step is not None
    first = last_open - step * (len(candles) - 1)
    rows = [
        [
            first + i * step,
            o,
            h,
            low,
            c,
            v,
            first + (i + 1) * step - 1,
            c * v,
            10,
            v / 2,
            c * v / 2,
            "0",
        ]
        for i, (o, h, low, c, v) in enumerate(candles)
    ]
    await run.dm.insert_klines(run.symbol, interval, rows)


async def extracted(nc: Client, run: Run, interval: Interval) -> None:
    """What the extractor publishes (core NATS) once a series is stored."""
    event = ExtractionCompleted(
        symbol=run.symbol,
        interval=interval.value,
        records_fetched=1,
        records_written=1,
        duration_s=0.1,
        success=True,
    )
    await nc.publish(klines_subject(run.symbol, interval), event.model_dump_json().encode())
    await nc.flush()


async def signals(nc: Client, run: Run) -> list[tuple[str | None, Signal]]:
    """Every message on the test's signal stream: its Nats-Msg-Id and the signal."""
    js = nc.jetstream()
    info = await js.stream_info(run.settings.signals_stream)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        if info.state.messages == 0:
            break
        message = await js.get_msg(run.settings.signals_stream, seq)
        msg_id = (message.headers or {}).get("Nats-Msg-Id")
        assert message.data is not None
        found.append((msg_id, Signal.model_validate_json(message.data)))
    return found


def evaluated(*bots: TaBot) -> float:
    total = 0.0
    for running in bots:
        value = running.metrics.registry.get_sample_value(
            "petrosa_tabot_events_total", {"source": "extractor", "outcome": "evaluated"}
        )
        total += value or 0.0
    return total


def last_closed(interval: Interval) -> int:
    return interval.floor(now_ms()) - (interval.milliseconds or 0)


async def test_an_extraction_event_publishes_the_signal_once_with_its_id_and_record(
    nc: Client, run: Run, data_manager: RunningServer
) -> None:
    interval = Interval.M15
    last_open = last_closed(interval)
    await store(run, interval, FIRES, last_open)
    async with bot(run, data_manager.base_url) as one, bot(run, data_manager.base_url) as two:
        for _ in range(3):  # the same event three times, two replicas sharing the consumer
            await extracted(nc, run, interval)

        async def all_handled() -> bool:
            return evaluated(one, two) == 3

        await eventually(all_handled, "three events handled")
        published = await signals(nc, run)
        assert len(published) == 1
        msg_id, signal = published[0]
        assert msg_id == signal.signal_id
        assert (signal.strategy_id, signal.action.value, signal.symbol) == (
            STRATEGY,
            "buy",
            run.symbol,
        )
        assert signal.candle_open_time == last_open
        assert signal.event_time == signal.candle_close_time == last_open + 15 * 60_000 - 1
        assert signal.strategy_version == "1"
        assert signal.market is not None
        assert signal.market.value == "futures"
        assert signal.stop_loss is not None
        assert signal.stop_loss < signal.price == 96
        records = await run.dm.query(run.settings.signals_collection, {})
        assert [r["_id"] for r in records] == [signal.signal_id]
        assert records[0]["signal"]["metadata"]["indicators"]["BB_LOWER"] > 96
        assert records[0]["signal"]["metadata"]["config"]["params"]["base_confidence"] == 0.68
        sent = sum(
            running.metrics.registry.get_sample_value(
                "petrosa_tabot_signals_total", {"strategy": STRATEGY, "side": "buy"}
            )
            or 0
            for running in (one, two)
        )
        assert sent == 1


async def test_a_candle_still_forming_is_never_evaluated(
    nc: Client, run: Run, data_manager: RunningServer
) -> None:
    interval = Interval.D1
    if interval.floor(now_ms()) + 86_400_000 - now_ms() < 300_000:
        await asyncio.sleep(310)  # a day is about to close; take the next one
    forming = interval.floor(now_ms())
    await store(run, interval, FIRES, forming)  # the firing candle is today's: open
    async with bot(run, data_manager.base_url) as running:
        await extracted(nc, run, interval)
        await eventually(lambda: _true(evaluated(running) == 1), "the event handled")
        assert await signals(nc, run) == []


async def test_a_closed_socket_kline_triggers_exactly_its_candle(
    nc: Client, run: Run, data_manager: RunningServer
) -> None:
    interval = Interval.M15
    js = nc.jetstream()
    subject = kline_filter(run.settings.market, interval)
    try:  # the socket client's own stream, when an earlier run left it (subjects overlap)
        await js.stream_info("BINANCE_KLINES")
        run.settings = run.settings.model_copy(update={"klines_stream": "BINANCE_KLINES"})
    except NotFoundError:
        await js.add_stream(StreamConfig(name=run.settings.klines_stream, subjects=[subject]))
    last_open = last_closed(interval)
    await store(run, interval, FIRES, last_open)
    async with bot(run, data_manager.base_url) as running:
        await eventually(lambda: _true(bool(running.klines)), "the kline consumer")
        await _socket_kline(nc, run, interval, last_open + 15 * 60_000, closed=False)
        await _socket_kline(nc, run, interval, last_open, closed=True)

        async def one_signal() -> bool:
            return len(await signals(nc, run)) == 1

        try:
            await eventually(one_signal, "the signal")
        finally:
            with contextlib.suppress(NotFoundError):
                for durable in running.klines.values():
                    await js.delete_consumer(durable.stream, durable.durable)
        [(_, signal)] = await signals(nc, run)
        assert signal.candle_open_time == last_open
        forming = running.metrics.registry.get_sample_value(
            "petrosa_tabot_events_total", {"source": "socket", "outcome": "forming"}
        )
        assert forming == 1


async def test_readiness_says_the_data_manager_is_down_and_recovers(
    run: Run, data_manager: RunningServer
) -> None:
    port = int(data_manager.base_url.rsplit(":", 1)[1])
    proxy = FaultyTcpProxy("127.0.0.1", port).start()
    try:
        async with bot(run, f"http://127.0.0.1:{proxy.port}") as running:
            app = create_app(running.settings, running)
            app.state.bot = running
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://tabot") as http:
                assert (await http.get("/health/readiness")).status_code == 200
                proxy.set_mode("refuse")
                answer = await http.get("/health/readiness")
                assert answer.status_code == 503
                assert any(p.startswith("data_manager: ") for p in answer.json()["problems"])
                proxy.set_mode("forward")

                async def back() -> bool:
                    return (await http.get("/health/readiness")).status_code == 200

                await eventually(back, "ready again")
    finally:
        proxy.stop()


async def test_configuration_changes_apply_without_restart_and_bad_values_are_refused(
    nc: Client, run: Run, data_manager: RunningServer
) -> None:
    interval = Interval.M15
    await store(run, interval, FIRES, last_closed(interval))
    async with bot(run, data_manager.base_url) as running:
        app = create_app(running.settings, running)
        app.state.bot = running
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tabot") as http:
            bad = await http.put(
                f"/config/strategies/{STRATEGY}", json={"parameters": {"band_stop": -1}}
            )
            assert bad.status_code == 422
            assert bad.json()["detail"].startswith("parameters.band_stop: ")
            unknown = await http.put("/config/service", json={"enabled": ["no_such_thing"]})
            assert unknown.status_code == 422
            assert unknown.json()["errors"][0]["loc"] == ["enabled"]
            typo = await http.put(
                f"/config/strategies/{STRATEGY}", json={"parameters": {"base_confidenc": 0.7}}
            )
            assert typo.status_code == 422
            assert "parameters.base_confidenc" in typo.json()["detail"]

            # disabled: the event is handled, nothing fires
            off = await http.put("/config/service", json={"enabled": ["bollinger_squeeze_alert"]})
            assert off.status_code == 200
            await eventually(lambda: _enabled(running, "bollinger_squeeze_alert"), "disabled")
            await extracted(nc, run, interval)
            await eventually(lambda: _true(evaluated(running) == 1), "the event handled")
            assert await signals(nc, run) == []

            # enabled with another parameter: a new version, its own id, the new confidence
            on = await http.put("/config/service", json={"enabled": [STRATEGY]})
            assert on.status_code == 200
            changed = await http.put(
                f"/config/strategies/{STRATEGY}", json={"parameters": {"base_confidence": 0.7}}
            )
            assert changed.status_code == 200, changed.text
            await eventually(lambda: _confidence(running, 0.7), "the new parameter applied")
            await extracted(nc, run, interval)
            await eventually(lambda: _true(evaluated(running) == 2), "the event handled")
            [(msg_id, signal)] = await signals(nc, run)
            assert msg_id == signal.signal_id
            assert signal.strategy_version is not None
            assert signal.strategy_version.startswith("1+")
            assert signal.confidence > 0.7
            assert signal.metadata["config"]["params"]["base_confidence"] == 0.7
            assert signal.metadata["config"]["strategy_config_version"] >= 1


async def _true(value: bool) -> bool:
    return value


async def _enabled(running: TaBot, strategy_id: str) -> bool:
    return running.config is not None and [s.id for s in running.config.enabled] == [strategy_id]


async def _confidence(running: TaBot, value: float) -> bool:
    config = running.config
    if config is None:
        return False
    setting = config.settings.get((STRATEGY, config.symbols[0]))
    return setting is not None and getattr(setting.params, "base_confidence", None) == value


async def _socket_kline(
    nc: Client, run: Run, interval: Interval, open_time: int, *, closed: bool
) -> None:
    """The socket client's envelope of a kline update (``data.k.x``: the candle closed)."""
    step = interval.milliseconds or 0
    event_ms = open_time + step - 1 if closed else now_ms()
    data = {
        "e": "kline",
        "E": event_ms,
        "s": run.symbol,
        "k": {"t": open_time, "T": open_time + step - 1, "s": run.symbol, "i": interval.value,
              "o": "100", "c": "96", "h": "100.5", "l": "95.5", "v": "100", "x": closed},
    }  # fmt: skip
    envelope = {
        "stream": f"{run.symbol.lower()}@kline_{interval.value}",
        "event_time": event_ms,
        "received_at": now_ms(),
        "data": data,
    }
    subject = f"binance.{run.settings.market.value}.kline_{interval.value}.{run.symbol}"
    await nc.jetstream().publish(subject, orjson.dumps(envelope), stream=run.settings.klines_stream)
