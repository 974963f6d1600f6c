"""Retries: which failures are retried, how long the client waits, and when it gives up."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from petrosa.client import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectError,
    ConnectionLostError,
    DataManagerClient,
    DataManagerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    ServiceUnavailableError,
    ValidationError,
)
from petrosa.client._config import RetryPolicy
from petrosa.client._retry import backoff_delay
from petrosa.resilience import parse_retry_after
from tests.unit.client.conftest import BASE_URL, JITTER, FakeTime, MakeClient, Scripted

GIVE_UP_STATUSES = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    500: ServerError,
}

TRANSPORT_FAILURES = {
    "connect refused": (httpx.ConnectError("refused"), ConnectError),
    "connect timeout": (httpx.ConnectTimeout("slow connect"), ConnectError),
    "read timeout": (httpx.ReadTimeout("slow answer"), RequestTimeoutError),
    "write timeout": (httpx.WriteTimeout("slow upload"), RequestTimeoutError),
    "pool timeout": (httpx.PoolTimeout("pool full"), RequestTimeoutError),
    "read error": (httpx.ReadError("reset by peer"), ConnectionLostError),
    "dropped": (httpx.RemoteProtocolError("server disconnected"), ConnectionLostError),
}


def unavailable(retry_after: str | None = None, status: int = 503) -> httpx.Response:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return httpx.Response(status, json={"detail": "database unavailable"}, headers=headers)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_retryable_status_is_retried_until_success(
    make_client: MakeClient, fake_time: FakeTime, status: int
) -> None:
    server = Scripted(status, status, then=httpx.Response(200, json={"ok": True}))
    client = make_client(server)

    assert await client._request("GET", "/thing") == {"ok": True}
    assert server.count == 3
    assert len(fake_time.sleeps) == 2


@pytest.mark.parametrize("failure", TRANSPORT_FAILURES.values(), ids=TRANSPORT_FAILURES.keys())
async def test_transport_failure_is_retried_until_success(
    make_client: MakeClient, failure: tuple[Exception, type[DataManagerError]]
) -> None:
    server = Scripted(failure[0], then=httpx.Response(200, json=[1]))
    client = make_client(server)

    assert await client._request("GET", "/thing") == [1]
    assert server.count == 2


@pytest.mark.parametrize("failure", TRANSPORT_FAILURES.values(), ids=TRANSPORT_FAILURES.keys())
async def test_transport_failure_maps_to_the_client_error(
    make_client: MakeClient, failure: tuple[Exception, type[DataManagerError]]
) -> None:
    client = make_client(Scripted(then=failure[0]), max_attempts=2)

    with pytest.raises(failure[1]) as raised:
        await client._request("GET", "/thing")
    assert raised.value.attempts == 2
    assert isinstance(raised.value.__cause__, httpx.TransportError)


@pytest.mark.parametrize("status", GIVE_UP_STATUSES)
async def test_other_errors_are_never_retried(
    make_client: MakeClient, fake_time: FakeTime, status: int
) -> None:
    server = Scripted(then=status)
    client = make_client(server)

    with pytest.raises(GIVE_UP_STATUSES[status]) as raised:
        await client._request("POST", "/thing", json={})
    assert raised.value.status_code == status
    assert raised.value.attempts == 1
    assert server.count == 1
    assert fake_time.sleeps == []


async def test_retry_after_is_honoured(make_client: MakeClient, fake_time: FakeTime) -> None:
    server = Scripted(unavailable("7"), unavailable("2", status=429), then=200)
    client = make_client(server)

    await client._request("GET", "/thing")
    assert fake_time.sleeps == [7.0, 2.0]


async def test_retry_after_zero_still_backs_off(
    make_client: MakeClient, fake_time: FakeTime
) -> None:
    server = Scripted(unavailable("0"), unavailable("0"), then=200)
    client = make_client(server, backoff_initial=0.2)

    await client._request("GET", "/thing")
    assert fake_time.sleeps == pytest.approx([JITTER * 0.2, JITTER * 0.4])


async def test_retry_after_beyond_the_time_budget_gives_up_at_once(
    make_client: MakeClient, fake_time: FakeTime
) -> None:
    server = Scripted(then=unavailable("60"))
    client = make_client(server, total_timeout=10.0)

    with pytest.raises(ServiceUnavailableError) as raised:
        await client._request("GET", "/thing")
    assert raised.value.retry_after_s == 60.0
    assert server.count == 1
    assert fake_time.sleeps == []


async def test_backoff_grows_exponentially_with_jitter(
    make_client: MakeClient, fake_time: FakeTime
) -> None:
    server = Scripted(then=503)
    client = make_client(
        server,
        max_attempts=7,
        backoff_initial=0.1,
        backoff_max=2.0,
        total_timeout=100.0,
        breaker_threshold=100,
    )

    with pytest.raises(ServiceUnavailableError):
        await client._request("GET", "/thing")
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.6, 2.0]
    assert fake_time.sleeps == pytest.approx([JITTER * ceiling for ceiling in ceilings])


def test_full_jitter_stays_within_zero_and_the_ceiling() -> None:
    policy = RetryPolicy(backoff_initial_s=0.1, backoff_max_s=3.0)
    generator = random.Random(20240601)
    for attempt in range(1, 12):
        ceiling = min(3.0, 0.1 * 2 ** (attempt - 1))
        delays = [backoff_delay(attempt, policy, generator.random) for _ in range(200)]
        assert all(0.0 <= delay < ceiling for delay in delays)
        # Full jitter spreads over the whole range rather than clustering at the ceiling.
        assert min(delays) < ceiling / 4
        assert max(delays) > ceiling * 3 / 4


def test_backoff_survives_very_many_attempts() -> None:
    assert backoff_delay(10_000, RetryPolicy(backoff_max_s=5.0), lambda: 0.5) == 2.5


async def test_attempts_are_capped(make_client: MakeClient, fake_time: FakeTime) -> None:
    server = Scripted(then=503)
    client = make_client(server, max_attempts=4)

    with pytest.raises(ServiceUnavailableError) as raised:
        await client._request("GET", "/thing")
    assert server.count == 4
    assert raised.value.attempts == 4
    assert len(fake_time.sleeps) == 3
    assert "after 4 attempts" in str(raised.value)


async def test_total_time_is_capped(make_client: MakeClient, fake_time: FakeTime) -> None:
    # Each answer takes 1 s and the waits add up: the budget, not max_attempts, ends it.
    server = Scripted(then=503, duration_s=1.0)
    client = make_client(
        server, max_attempts=1_000, total_timeout=5.0, backoff_initial=0.5, backoff_max=0.5
    )

    with pytest.raises(ServiceUnavailableError) as raised:
        await client._request("GET", "/thing")
    assert fake_time.now <= 5.0
    assert 1 < server.count < 1_000
    assert raised.value.attempts == server.count


async def test_each_attempt_timeout_is_cut_to_the_remaining_budget(
    make_client: MakeClient, fake_time: FakeTime
) -> None:
    server = Scripted(then=503, duration_s=2.0)
    client = make_client(
        server, timeout=30.0, total_timeout=5.0, backoff_initial=0.0, backoff_max=0.0
    )

    with pytest.raises(ServiceUnavailableError):
        await client._request("GET", "/thing")
    read_timeouts = [request.extensions["timeout"]["read"] for request in server.requests]
    assert read_timeouts == [5.0, 3.0, 1.0]


async def test_non_idempotent_request_is_not_retried_once_it_may_have_arrived(
    make_client: MakeClient,
) -> None:
    for failure in (httpx.ReadTimeout("slow"), httpx.ReadError("reset"), unavailable("0")):
        server = Scripted(failure, then=200)
        client = make_client(server)
        with pytest.raises(DataManagerError):
            await client._request("POST", "/thing", json={}, idempotent=False)
        assert server.count == 1


async def test_non_idempotent_request_is_retried_when_it_never_left(
    make_client: MakeClient,
) -> None:
    server = Scripted(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), then=200)
    client = make_client(server)

    await client._request("POST", "/thing", json={}, idempotent=False)
    assert server.count == 3


async def test_the_same_body_is_sent_on_every_attempt(make_client: MakeClient) -> None:
    server = Scripted(503, httpx.ReadError("reset"), then=200)
    client = make_client(server)

    await client._request("POST", "/thing", json={"rows": [1, 2, 3]})
    assert {request.content for request in server.requests} == {b'{"rows":[1,2,3]}'}


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), (" 0 ", 0.0), ("1.5", 1.5), ("-1", None), ("soon", None), (None, None)],
)
def test_retry_after_parsing(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_http_date_retry_after_falls_back_to_backoff() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None


@pytest.mark.parametrize(
    "options",
    [
        {"max_attempts": 0},
        {"total_timeout": 0.0},
        {"backoff_initial": 2.0, "backoff_max": 1.0},
        {"breaker_threshold": 0},
        {"breaker_cooldown": -1.0},
    ],
)
def test_nonsense_resilience_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"must|need"):
        DataManagerClient(BASE_URL, **options)


async def test_rate_limited_error_carries_retry_after(make_client: MakeClient) -> None:
    client = make_client(Scripted(then=unavailable("1", status=429)), max_attempts=1)

    with pytest.raises(RateLimitedError) as raised:
        await client._request("GET", "/thing")
    assert raised.value.retry_after_s == 1.0
