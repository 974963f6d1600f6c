"""The circuit breaker opens, fails fast, half-opens, and closes again (or re-opens)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from petrosa.client import (
    CircuitOpenError,
    CircuitState,
    DataManagerClient,
    HTTPStatusError,
    ServerError,
    ServiceUnavailableError,
)
from petrosa.client._breaker import CircuitBreaker
from petrosa.client._config import BreakerPolicy
from tests.unit.client.conftest import FakeTime, MakeClient, Scripted

THRESHOLD = 3
COOLDOWN_S = 30.0


@pytest.fixture
def breaker(fake_time: FakeTime) -> CircuitBreaker:
    return CircuitBreaker(BreakerPolicy(THRESHOLD, COOLDOWN_S), fake_time.clock)


def state_of(breaker: CircuitBreaker) -> CircuitState:
    """The state now (a call, so the type checker does not carry an earlier check over)."""
    return breaker.state


def circuit_of(client: DataManagerClient) -> CircuitState:
    return client.circuit_state


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.acquire()
        breaker.record_failure()


def test_opens_after_consecutive_failures_only(breaker: CircuitBreaker) -> None:
    fail(breaker, THRESHOLD - 1)
    breaker.record_success()
    fail(breaker, THRESHOLD - 1)
    assert state_of(breaker) is CircuitState.CLOSED

    fail(breaker, 1)
    assert state_of(breaker) is CircuitState.OPEN


def test_open_breaker_fails_fast_until_the_cooldown_ends(
    breaker: CircuitBreaker, fake_time: FakeTime
) -> None:
    fail(breaker, THRESHOLD)
    fake_time.advance(COOLDOWN_S - 1)

    with pytest.raises(CircuitOpenError) as raised:
        breaker.acquire()
    assert raised.value.retry_after_s == pytest.approx(1.0)


def test_half_open_lets_one_trial_through_then_closes_on_success(
    breaker: CircuitBreaker, fake_time: FakeTime
) -> None:
    fail(breaker, THRESHOLD)
    fake_time.advance(COOLDOWN_S)
    assert state_of(breaker) is CircuitState.HALF_OPEN

    assert breaker.acquire() is True
    with pytest.raises(CircuitOpenError, match="trial request is in flight"):
        breaker.acquire()
    breaker.record_success()

    assert state_of(breaker) is CircuitState.CLOSED
    assert breaker.consecutive_failures == 0
    assert breaker.acquire() is False


def test_failed_trial_reopens_for_a_full_cooldown(
    breaker: CircuitBreaker, fake_time: FakeTime
) -> None:
    fail(breaker, THRESHOLD)
    fake_time.advance(COOLDOWN_S)
    breaker.acquire()
    breaker.record_failure()

    assert state_of(breaker) is CircuitState.OPEN
    fake_time.advance(COOLDOWN_S - 1)
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    fake_time.advance(1)
    assert breaker.acquire() is True


def test_an_abandoned_trial_frees_its_slot(breaker: CircuitBreaker, fake_time: FakeTime) -> None:
    fail(breaker, THRESHOLD)
    fake_time.advance(COOLDOWN_S)
    trial = breaker.acquire()
    breaker.release(trial=trial)

    assert breaker.acquire() is True


def test_late_failure_does_not_extend_an_open_circuit(
    breaker: CircuitBreaker, fake_time: FakeTime
) -> None:
    fail(breaker, THRESHOLD)
    fake_time.advance(COOLDOWN_S / 2)
    breaker.record_failure()  # a request sent before the circuit opened
    fake_time.advance(COOLDOWN_S / 2)

    assert state_of(breaker) is CircuitState.HALF_OPEN


async def test_client_breaker_full_cycle(make_client: MakeClient, fake_time: FakeTime) -> None:
    server = Scripted(then=503)
    client = make_client(
        server, max_attempts=1, breaker_threshold=THRESHOLD, breaker_cooldown=COOLDOWN_S
    )

    # The outage: THRESHOLD failures reach the server, then calls fail fast.
    for _ in range(THRESHOLD):
        with pytest.raises(ServiceUnavailableError):
            await client._request("GET", "/thing")
    assert circuit_of(client) is CircuitState.OPEN
    with pytest.raises(CircuitOpenError):
        await client._request("GET", "/thing")
    assert server.count == THRESHOLD

    # Still down at the first trial: it fails and the circuit re-opens.
    fake_time.advance(COOLDOWN_S)
    with pytest.raises(ServiceUnavailableError):
        await client._request("GET", "/thing")
    assert server.count == THRESHOLD + 1
    assert circuit_of(client) is CircuitState.OPEN
    with pytest.raises(CircuitOpenError):
        await client._request("GET", "/thing")

    # Recovered: the next trial succeeds, the circuit closes and stays closed.
    server.then = httpx.Response(200, json={"ok": True})
    fake_time.advance(COOLDOWN_S)
    assert circuit_of(client) is CircuitState.HALF_OPEN
    assert await client._request("GET", "/thing") == {"ok": True}
    assert circuit_of(client) is CircuitState.CLOSED
    for _ in range(THRESHOLD * 2):
        await client._request("GET", "/thing")
    assert server.count == THRESHOLD + 2 + THRESHOLD * 2


async def test_retries_stop_when_the_circuit_opens(
    make_client: MakeClient, fake_time: FakeTime
) -> None:
    server = Scripted(then=httpx.ConnectError("refused"))
    client = make_client(server, max_attempts=10, breaker_threshold=THRESHOLD)

    with pytest.raises(CircuitOpenError) as raised:
        await client._request("GET", "/thing")
    assert server.count == THRESHOLD
    assert raised.value.attempts == THRESHOLD + 1
    assert len(fake_time.sleeps) == THRESHOLD


@pytest.mark.parametrize("status", [400, 404, 409, 422, 500])
async def test_answers_that_are_not_outages_do_not_open_the_circuit(
    make_client: MakeClient, status: int
) -> None:
    client = make_client(Scripted(then=status), breaker_threshold=THRESHOLD)

    for _ in range(THRESHOLD * 2):
        with pytest.raises(HTTPStatusError):
            await client._request("GET", "/thing")
    assert circuit_of(client) is CircuitState.CLOSED


async def test_a_success_in_between_resets_the_count(make_client: MakeClient) -> None:
    steps: list[Any] = [503, 503, 200] * 3
    client = make_client(Scripted(*steps), max_attempts=1, breaker_threshold=THRESHOLD)

    for step in steps:
        if step == 200:
            await client._request("GET", "/thing")
        else:
            with pytest.raises(ServerError):
                await client._request("GET", "/thing")
    assert circuit_of(client) is CircuitState.CLOSED


class HangingTransport(httpx.AsyncBaseTransport):
    """Never answers until released: a request stuck in flight."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.started.set()
        await self.release.wait()
        return httpx.Response(200, json={})


async def test_a_cancelled_trial_does_not_wedge_the_breaker(
    make_client: MakeClient, fake_time: FakeTime
) -> None:
    transport = HangingTransport()
    client = make_client(
        Scripted(), transport=transport, max_attempts=1, breaker_threshold=1, breaker_cooldown=1.0
    )
    client._breaker.acquire()
    client._breaker.record_failure()
    fake_time.advance(1.0)

    trial = asyncio.create_task(client._request("GET", "/thing"))
    await transport.started.wait()
    with pytest.raises(CircuitOpenError):
        await client._request("GET", "/thing")  # the trial slot is taken
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial

    transport.release.set()
    assert await client._request("GET", "/thing") == {}
    assert circuit_of(client) is CircuitState.CLOSED
