"""Fixtures for client tests: a fake clock that sleeps instantly, and scripted servers.

No network and no monkeypatching: the client takes ``transport``, ``sleep``, ``clock`` and
``random`` as arguments, and these fixtures provide them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import httpx
import orjson
import pytest

from petrosa.client import DataManagerClient

BASE_URL = "http://dm.test"
JITTER = 0.5
"""What the injected ``random`` returns unless a test says otherwise."""

Step = int | httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """A monotonic clock that only moves when the client sleeps or a test advances it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Scripted:
    """A fake server answering requests with ``steps`` in order, then ``then`` forever.

    A step is a status code (with an empty JSON object), a ready ``httpx.Response``, an
    exception to raise (a transport failure), or a function of the request.
    """

    def __init__(self, *steps: Step, then: Step = 200, duration_s: float = 0.0) -> None:
        self._steps = list(steps)
        self.then = then
        self._duration_s = duration_s
        self.time: FakeTime | None = None
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.time is not None:
            self.time.advance(self._duration_s)
        step = self._steps.pop(0) if self._steps else self.then
        if isinstance(step, Exception):
            raise step
        if isinstance(step, int):
            return httpx.Response(step, json={})
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    @property
    def count(self) -> int:
        return len(self.requests)


class MakeClient(Protocol):
    def __call__(
        self, server: Callable[[httpx.Request], httpx.Response], **options: Any
    ) -> DataManagerClient: ...


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def make_client(fake_time: FakeTime) -> AsyncIterator[MakeClient]:
    """Builds clients on a mock transport and the fake clock; closes them afterwards."""
    clients: list[DataManagerClient] = []

    def make(
        server: Callable[[httpx.Request], httpx.Response], **options: Any
    ) -> DataManagerClient:
        if isinstance(server, Scripted):
            server.time = fake_time
        settings: dict[str, Any] = {
            "transport": httpx.MockTransport(server),
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
            "random": lambda: JITTER,
            "token": "",
            **options,
        }
        client = DataManagerClient(BASE_URL, **settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def json_body(request: httpx.Request) -> Any:
    """The decoded JSON body of a captured request."""
    return orjson.loads(request.content)
