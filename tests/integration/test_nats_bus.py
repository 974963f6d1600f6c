"""NatsBus against the real NATS server on 127.0.0.1:4222."""

from __future__ import annotations

import asyncio
import uuid

import nats
import pytest

from petrosa.bus import BusSettings, NatsBus, bus_from_settings
from tests.support.services import NATS_HOST, NATS_PORT, require_port

pytestmark = pytest.mark.integration
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"


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
