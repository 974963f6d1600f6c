"""The engine's NATS ingress on real NATS JetStream (the engine in-process, its Data Manager
an app on SQLite): every message ends — decided and acked, refused and terminated, or
dead-lettered after the delivery limit — and the durable consumer carries that limit."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson
import pytest
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo
from nats.js.errors import NotFoundError
from typer.testing import CliRunner

from petrosa.cli.main import app as cli
from petrosa.client import SyncDataManagerClient
from petrosa.tradeengine.api import create_app
from petrosa.tradeengine.dead_letters import DEAD_LETTERS, DeadLetter
from petrosa.tradeengine.ingress import ensure_stream
from petrosa.tradeengine.ledger import SIGNALS
from tests.support.inprocess import Rig, engine_rig, eventually, started
from tests.support.server import start_data_manager
from tests.support.services import NATS_HOST, NATS_PORT, require_port
from tests.support.signals import signal_body
from tests.support.tcp_proxy import FaultyTcpProxy

pytestmark = pytest.mark.integration

NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"


@dataclass(frozen=True)
class Channel:
    """A stream, subject and durable consumer of this test alone."""

    stream: str
    subject: str
    durable: str

    def settings(self, **extra: Any) -> dict[str, Any]:
        return {
            "nats_stream": self.stream,
            "nats_subject": self.subject,
            "nats_durable": self.durable,
            "nats_ack_wait_s": 30,
            **extra,
        }


@pytest.fixture
async def nc() -> AsyncIterator[Client]:
    require_port("NATS", NATS_HOST, NATS_PORT)
    client = await nats.connect(NATS_URL)
    yield client
    await client.close()


@pytest.fixture
async def channel(nc: Client) -> AsyncIterator[Channel]:
    run = uuid.uuid4().hex[:8]
    made = Channel(f"SIGNALS_T{run}", f"signals.trading.t{run}", f"engine_t{run}")
    yield made
    with contextlib.suppress(NotFoundError):
        await nc.jetstream().delete_stream(made.stream)


async def publish(nc: Client, channel: Channel, payload: bytes) -> None:
    """Onto the stream (created here if the engine has not yet: it delivers from the start)."""
    await ensure_stream(nc, channel.stream, channel.subject)
    await nc.jetstream().publish(channel.subject, payload, stream=channel.stream)


async def consumer(nc: Client, channel: Channel) -> ConsumerInfo:
    info: ConsumerInfo = await nc.jetstream().consumer_info(channel.stream, channel.durable)
    return info


async def settled(nc: Client, channel: Channel, published: int) -> bool:
    """Every published message delivered and ended (acked or terminated)."""
    try:
        info = await consumer(nc, channel)
    except NotFoundError:  # the engine has not created it yet
        return False
    assert info.delivered is not None
    return info.delivered.stream_seq == published and info.num_ack_pending == 0


async def test_an_invalid_signal_is_recorded_and_terminated_not_redelivered(
    tmp_path: Path, nc: Client, channel: Channel
) -> None:
    async with engine_rig(tmp_path, nats_url=NATS_URL, **channel.settings()) as rig:
        await started(rig.engine)
        await publish(nc, channel, orjson.dumps(signal_body(signal_id="x" * 500)))
        await eventually(lambda: settled(nc, channel, 1), "the message to end")
        info = await consumer(nc, channel)
        assert info.num_redelivered == 0
        assert info.delivered is not None
        assert info.delivered.consumer_seq == 1  # delivered once, never again
        rejected = await rig.dm.query(SIGNALS, {"decision.status": "rejected"}, limit=5)
        assert [doc["_id"][:8] for doc in rejected] == ["invalid-"]
        assert await rig.dm.query(DEAD_LETTERS, limit=5) == []


async def test_a_signal_that_keeps_failing_is_dead_lettered_at_the_delivery_limit(
    tmp_path: Path, nc: Client, channel: Channel
) -> None:
    # The exchange refuses the engine's API key: deciding fails the same way on every
    # delivery (an unexpected failure, not an outage).
    doomed = signal_body("BTCUSDT", signal_id="doomed-1")
    settings = channel.settings(nats_max_deliver=2)
    async with engine_rig(tmp_path, nats_url=NATS_URL, api_key="revoked", **settings) as rig:
        await started(rig.engine)
        await publish(nc, channel, orjson.dumps(doomed))
        await eventually(lambda: _dead_letters(rig, 1), "the dead letter")
        await eventually(lambda: settled(nc, channel, 1), "the message to end")
        [letter] = await rig.engine.dead_letters.latest(10)
        assert letter["_id"] == f"{channel.stream}:1"
        assert letter["deliveries"] == 2
        assert "InvalidApiKeyError" in letter["reason"]
        assert "gave up after 2 deliveries" in letter["reason"]
        assert orjson.loads(letter["payload"]) == doomed
        assert letter["payload_encoding"] == "utf-8"
        info = await consumer(nc, channel)
        assert info.config.max_deliver == 2
        assert info.delivered is not None
        assert info.delivered.consumer_seq == 2  # no third delivery


async def _dead_letters(rig: Rig, count: int) -> bool:
    return len(await rig.dm.query(DEAD_LETTERS, limit=10)) == count


async def test_an_existing_durable_consumer_gets_the_delivery_limit(
    tmp_path: Path, nc: Client, channel: Channel
) -> None:
    await ensure_stream(nc, channel.stream, channel.subject)
    old = ConsumerConfig(
        name=channel.durable,
        durable_name=channel.durable,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30,
        max_ack_pending=1_000,
        filter_subject=channel.subject,
    )
    await nc.jetstream().add_consumer(channel.stream, old)
    assert (await consumer(nc, channel)).config.max_deliver == -1  # unlimited
    async with engine_rig(
        tmp_path, nats_url=NATS_URL, **channel.settings(nats_max_deliver=7, nats_ack_wait_s=12)
    ) as rig:
        await started(rig.engine)
        await eventually(lambda: _limited(nc, channel), "the consumer to be updated")
        info = await consumer(nc, channel)
        assert info.config.ack_wait == 12


async def _limited(nc: Client, channel: Channel) -> bool:
    return (await consumer(nc, channel)).config.max_deliver == 7


@pytest.fixture
def nats_line() -> Iterator[FaultyTcpProxy]:
    """A line to NATS that a test can cut."""
    require_port("NATS", NATS_HOST, NATS_PORT)
    proxy = FaultyTcpProxy(NATS_HOST, NATS_PORT).start()
    yield proxy
    proxy.stop()


async def test_the_consumer_is_not_ready_while_nats_is_away_and_reconnects_for_good(
    tmp_path: Path, nc: Client, channel: Channel, nats_line: FaultyTcpProxy
) -> None:
    via_line = f"nats://127.0.0.1:{nats_line.port}"
    async with engine_rig(tmp_path, nats_url=via_line, **channel.settings()) as rig:
        engine = await started(rig.engine)
        assert engine.consumer is not None
        await eventually(lambda: _connected(engine.consumer), "the consumer to connect")
        client = engine.consumer.client
        assert client is not None
        assert client.options["max_reconnect_attempts"] == -1  # never gives up
        app = create_app(engine.settings, engine)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://te"
        ) as http:
            app.state.engine = engine  # the rig owns the engine's lifecycle
            nats_line.set_mode("refuse")
            await eventually(lambda: _readiness_says(http, "nats_disconnected"), "not ready")
            nats_line.set_mode("forward")
            await eventually(lambda: _readiness_says(http, None), "ready again")
        body = signal_body("BTCUSDT", signal_id="after-outage-1", price="1")
        await publish(nc, channel, orjson.dumps(body))
        await eventually(lambda: settled(nc, channel, 1), "the signal to be decided")
        assert await rig.dm.query(SIGNALS, {"_id": "after-outage-1"}, limit=1)


async def _connected(consumer: Any) -> bool:
    return bool(consumer.connected)


async def _readiness_says(http: httpx.AsyncClient, problem: str | None) -> bool:
    answer = await http.get("/health/readiness")
    if problem is None:
        return answer.status_code == 200
    return answer.status_code == 503 and problem in answer.json()["problems"]


def test_the_cli_lists_dead_letters_newest_first(tmp_path: Path) -> None:
    server = start_data_manager(f"sqlite:///{tmp_path / 'dm.db'}", tmp_path)
    try:
        with SyncDataManagerClient(server.base_url) as dm:
            for sequence in (1, 2):
                letter = DeadLetter("S", sequence, "c", "signals.trading", 2, "why", b"{}")
                dm.insert_one(
                    DEAD_LETTERS, letter.document(replica="r", at=dt.datetime.now(dt.UTC))
                )
        result = CliRunner().invoke(
            cli, ["tradeengine", "dead-letters"], env={"DATA_MANAGER_URL": server.base_url}
        )
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    listed = [orjson.loads(line) for line in result.output.splitlines()]
    assert [letter["_id"] for letter in listed] == ["S:2", "S:1"]
