"""Fixtures: a fake clock that sleeps instantly and clients wired to a ``FakeBinance``.

No network and no monkeypatching: the client takes ``transport``, ``clock``, ``sleep`` and
``random`` as arguments, and these fixtures provide them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

import pytest

from petrosa.exchange.binance import BinanceClient
from tests.unit.exchange.binance.fakes import FakeBinance, FakeTime

BASE_URL = "https://binance.test"
JITTER = 0.5
"""What the injected ``random`` returns: backoff sleeps are half their ceiling."""


class MakeClient(Protocol):
    def __call__(self, fake: FakeBinance, **options: Any) -> BinanceClient: ...


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def futures(fake_time: FakeTime) -> FakeBinance:
    return FakeBinance(fake_time, market="futures")


@pytest.fixture
def spot(fake_time: FakeTime) -> FakeBinance:
    return FakeBinance(fake_time, market="spot")


@pytest.fixture
async def make_client(fake_time: FakeTime) -> AsyncIterator[MakeClient]:
    """Builds clients of the fake's market on the fake clock; closes them afterwards."""
    clients: list[BinanceClient] = []

    def make(fake: FakeBinance, **options: Any) -> BinanceClient:
        settings: dict[str, Any] = {
            "base_url": BASE_URL,
            "transport": fake.transport(),
            "clock": fake_time.clock,
            "sleep": fake_time.sleep,
            "random": lambda: JITTER,
            **options,
        }
        client = BinanceClient(fake.market, **settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
