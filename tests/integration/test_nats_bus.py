"""NatsBus against the real NATS server on 127.0.0.1:4222."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import nats
import pytest

from petrosa.bus import BusSettings, BusUnavailable, NatsBus, bus_from_settings
from tests.support.services import NATS_HOST, NATS_PORT, require_port
from tests.support.tcp_proxy import FaultyTcpProxy

pytestmark = pytest.mark.integration
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"
WAIT_S = 60.0
POLL_S = 0.05


async def test_published_messages_reach_a_subscriber_before_publish_returns() -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    symbol = "T" + uuid.uuid4().hex[:8].upper()
    listener = await nats.connect(NATS_URL)
    received: list[tuple[str, bytes]] = []
    subscription = await listener.subscribe(f"binance.klines.{symbol}.>")
    await listener.flush()

    bus = await bus_from_settings(BusSettings(nats_url=NATS_URL))
    assert isinstance(bus, NatsBus)
    for interval in ("1m", "5m", "1h"):
        await bus.publish(f"binance.klines.{symbol}.{interval}", interval.encode())
    await bus.close()

    for _ in range(3):
        message = await asyncio.wait_for(subscription.next_msg(), timeout=5)
        received.append((message.subject, message.data))
    await listener.close()
    assert received == [
        (f"binance.klines.{symbol}.1m", b"1m"),
        (f"binance.klines.{symbol}.5m", b"5m"),
        (f"binance.klines.{symbol}.1h", b"1h"),
    ]


async def wait_until_refused(bus: NatsBus, subject: str) -> BusUnavailable:
    """Publish until the bus says NATS did not take it (the first publish after a cut may
    still go into the dying socket before the client notices)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            await bus.publish(subject, b"probe")
        except BusUnavailable as error:
            return error
        assert time.monotonic() < deadline, "publishes kept succeeding with NATS cut off"
        await asyncio.sleep(POLL_S)


async def test_a_publish_nats_did_not_take_raises_and_the_bus_recovers_when_nats_is_back() -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    subject = f"binance.klines.T{uuid.uuid4().hex[:8].upper()}.1m"
    listener = await nats.connect(NATS_URL)
    subscription = await listener.subscribe(subject)
    await listener.flush()
    proxy = FaultyTcpProxy(NATS_HOST, NATS_PORT).start()
    try:
        bus = await NatsBus.connect(f"nats://127.0.0.1:{proxy.port}")
        proxy.set_mode("refuse")
        error = await wait_until_refused(bus, subject)
        assert subject in str(error)
        proxy.set_mode("forward")
        deadline = time.monotonic() + WAIT_S
        while True:  # the client redials on its own; a later publish gets through
            try:
                await bus.publish(subject, b"after")
                break
            except BusUnavailable:
                assert time.monotonic() < deadline, "the bus never reconnected"
                await asyncio.sleep(POLL_S)
        await bus.close()
        payloads = set()
        while b"after" not in payloads:
            payloads.add((await subscription.next_msg(timeout=WAIT_S)).data)
    finally:
        proxy.stop()
        await listener.close()


async def test_closing_a_bus_whose_nats_is_gone_returns_quietly() -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    proxy = FaultyTcpProxy(NATS_HOST, NATS_PORT).start()
    try:
        bus = await NatsBus.connect(f"nats://127.0.0.1:{proxy.port}")
        proxy.set_mode("refuse")
        await wait_until_refused(bus, "binance.klines.CLOSEUSDT.1m")
        await bus.close()  # used to raise ConnectionReconnectingError from drain()
    finally:
        proxy.stop()


async def test_connecting_to_an_unreachable_nats_raises_bus_unavailable() -> None:
    proxy = FaultyTcpProxy(NATS_HOST, NATS_PORT).start()
    proxy.set_mode("refuse")
    try:
        with pytest.raises(BusUnavailable, match="cannot connect to NATS"):
            await NatsBus.connect(f"nats://127.0.0.1:{proxy.port}", connect_timeout_s=2)
    finally:
        proxy.stop()


async def test_closing_a_healthy_bus_reports_no_outage(caplog: pytest.LogCaptureFixture) -> None:
    require_port("NATS", NATS_HOST, NATS_PORT)
    bus = await NatsBus.connect(NATS_URL)
    await bus.publish("binance.klines.QUIETUSDT.1m", b"x")
    await bus.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
