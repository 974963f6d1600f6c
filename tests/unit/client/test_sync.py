"""The blocking client: same methods as the async one, usable from any thread."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any, get_type_hints

import httpx
import pytest

from petrosa.client import (
    CircuitState,
    ClientOptions,
    DataManagerClient,
    NotFoundError,
    SyncDataManagerClient,
)
from tests.unit.client.conftest import BASE_URL, FakeTime, Scripted
from tests.unit.client.test_market import kline, kline_object, page_server

LOOP_THREAD_NAME = "petrosa-client-loop"


@pytest.fixture
def make_sync(
    fake_time: FakeTime,
) -> Iterator[Callable[..., SyncDataManagerClient]]:
    clients: list[SyncDataManagerClient] = []

    def make(server: Scripted, **options: Any) -> SyncDataManagerClient:
        server.time = fake_time
        client = SyncDataManagerClient(
            BASE_URL,
            transport=httpx.MockTransport(server),
            sleep=fake_time.sleep,
            clock=fake_time.clock,
            token="",
            **options,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def public_async_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member))
    }


def test_every_async_method_has_a_blocking_twin() -> None:
    methods = public_async_methods(DataManagerClient)
    assert {"health", "close", "insert_klines", "get_candles", "iter_candles"} <= set(methods)

    with SyncDataManagerClient(BASE_URL) as blocking:
        for name, method in methods.items():
            twin = getattr(blocking, name, None)
            assert twin is not None, f"SyncDataManagerClient lacks {name}"
            assert not inspect.iscoroutinefunction(twin), name
            if name != "close":  # closing also stops the loop thread
                assert twin.__doc__ == method.__doc__, name
                assert inspect.signature(twin) == inspect.signature(
                    blocking._client.__getattribute__(name)
                ), name


def test_sync_client_takes_exactly_the_async_client_options() -> None:
    parameters = inspect.signature(DataManagerClient.__init__).parameters.values()
    keyword_only = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert set(get_type_hints(ClientOptions)) == keyword_only


def test_blocking_calls_with_retries(make_sync: Callable[..., SyncDataManagerClient]) -> None:
    answer = httpx.Response(200, json={"candles": [kline_object(3)], "next_cursor": None})
    server = Scripted(503, httpx.ConnectError("refused"), answer)
    with make_sync(server) as client:
        assert client.get_latest_kline("BTCUSDT", "1m") == kline(3)
        assert client.circuit_state is CircuitState.CLOSED
        assert client.base_url == BASE_URL
    assert server.count == 3


def test_errors_keep_their_types(make_sync: Callable[..., SyncDataManagerClient]) -> None:
    client = make_sync(Scripted(then=httpx.Response(404, json={"detail": "no such thing"})))

    with pytest.raises(NotFoundError, match="no such thing"):
        client.get_coverage("BTCUSDT", "1m")


def test_blocking_iteration(make_sync: Callable[..., SyncDataManagerClient]) -> None:
    pages = [([kline_object(0), kline_object(1)], "a"), ([kline_object(2)], None)]
    client = make_sync(page_server("candles", pages))

    assert list(client.iter_candles("BTCUSDT", "1m", page_size=2)) == [kline(0), kline(1), kline(2)]


def test_abandoned_iteration_stops_fetching(
    make_sync: Callable[..., SyncDataManagerClient],
) -> None:
    pages = [([kline_object(0), kline_object(1)], "a"), ([kline_object(2)], None)]
    server = page_server("candles", pages)
    client = make_sync(server)

    iterator = client.iter_candles("BTCUSDT", "1m", page_size=2)
    assert next(iterator) == kline(0)
    iterator.close()  # type: ignore[attr-defined]
    assert server.count == 1


async def test_works_inside_a_running_event_loop(
    make_sync: Callable[..., SyncDataManagerClient],
) -> None:
    client = make_sync(page_server("candles", [([kline_object(5)], None)]))

    assert asyncio.get_running_loop().is_running()
    assert client.get_latest_kline("BTCUSDT", "1m") == kline(5)


async def test_works_from_threads_while_another_loop_runs(
    make_sync: Callable[..., SyncDataManagerClient],
) -> None:
    client = make_sync(
        page_server("candles", [([kline_object(1)], None), ([kline_object(2)], None)])
    )
    results: list[Any] = []

    async def async_code_calling_blocking_client() -> None:
        results.append(client.get_latest_kline("BTCUSDT", "1m"))

    thread = threading.Thread(target=asyncio.run, args=(async_code_calling_blocking_client(),))
    thread.start()
    results.append(await asyncio.to_thread(client.get_latest_kline, "BTCUSDT", "1m"))
    thread.join()

    assert sorted(results, key=lambda k: k.open_time) == [kline(1), kline(2)]


def test_close_stops_the_loop_thread_and_is_idempotent(
    make_sync: Callable[..., SyncDataManagerClient],
) -> None:
    client = make_sync(Scripted())
    client.close()
    client.close()

    with pytest.raises(RuntimeError, match="closed"):
        client.get_latest_kline("BTCUSDT", "1m")
    assert not client._loop._thread.is_alive()


def test_bad_options_leave_no_thread_behind() -> None:
    before = sum(thread.name == LOOP_THREAD_NAME for thread in threading.enumerate())
    with pytest.raises(ValueError, match="max_attempts"):
        SyncDataManagerClient(BASE_URL, max_attempts=0)
    after = sum(thread.name == LOOP_THREAD_NAME for thread in threading.enumerate())
    assert after == before
