"""``SyncDataManagerClient``: the async client's methods, blocking, for synchronous code.

Each method is one line: a descriptor wrapping the async method of the same name. The
descriptors are typed with ``ParamSpec``/``Concatenate``, so every blocking method has
exactly the async method's parameters and returns its awaited result.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from types import MethodType, TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, Unpack, overload

from petrosa.client._breaker import CircuitState
from petrosa.client._client import DataManagerClient
from petrosa.client._config import ClientOptions
from petrosa.client._loop_thread import LoopThread

P = ParamSpec("P")
R = TypeVar("R")


class _Blocking(Generic[P, R]):
    """Exposes ``DataManagerClient.<name>`` as a blocking method of the sync client."""

    def __init__(
        self, method: Callable[Concatenate[DataManagerClient, P], Coroutine[Any, Any, R]]
    ) -> None:
        self._method = method
        self.__doc__ = method.__doc__

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, instance: SyncDataManagerClient, owner: type[Any]) -> Callable[P, R]: ...

    def __get__(
        self, instance: SyncDataManagerClient | None, owner: type[Any]
    ) -> Self | Callable[P, R]:
        if instance is None:
            return self
        method = self._method
        client, loop = instance._client, instance._loop

        @functools.wraps(MethodType(method, client))
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            return loop.run(method(client, *args, **kwargs))

        return call


class _BlockingIterator(Generic[P, R]):
    """Exposes an async-iterator method of ``DataManagerClient`` as a blocking iterator."""

    def __init__(
        self, method: Callable[Concatenate[DataManagerClient, P], AsyncIterator[R]]
    ) -> None:
        self._method = method
        self.__doc__ = method.__doc__

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(
        self, instance: SyncDataManagerClient, owner: type[Any]
    ) -> Callable[P, Iterator[R]]: ...

    def __get__(
        self, instance: SyncDataManagerClient | None, owner: type[Any]
    ) -> Self | Callable[P, Iterator[R]]:
        if instance is None:
            return self
        method = self._method
        client, loop = instance._client, instance._loop

        @functools.wraps(MethodType(method, client))
        def call(*args: P.args, **kwargs: P.kwargs) -> Iterator[R]:
            return loop.iterate(method(client, *args, **kwargs))

        return call


class SyncDataManagerClient:
    """Blocking client of the Data Manager, with the same methods as ``DataManagerClient``.

    ::

        with SyncDataManagerClient() as dm:
            dm.insert_klines("BTCUSDT", "1m", rows)

    It runs a ``DataManagerClient`` on a private event loop in a background thread, so it
    works from any thread, even one whose own event loop is running. Thread-safe.
    """

    def __init__(self, base_url: str | None = None, **options: Unpack[ClientOptions]) -> None:
        """Takes exactly the arguments of ``DataManagerClient``."""
        self._loop = LoopThread()
        try:
            self._client = DataManagerClient(base_url, **options)
        except BaseException:
            self._loop.stop()
            raise

    @property
    def base_url(self) -> str:
        """The Data Manager's address."""
        return self._client.base_url

    @property
    def circuit_state(self) -> CircuitState:
        """The circuit breaker's state: closed, open or half_open."""
        return self._client.circuit_state

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections and stop the background loop; idempotent."""
        if self._loop.stopped:
            return
        try:
            self._loop.run(self._client.close())
        finally:
            self._loop.stop()

    health = _Blocking(DataManagerClient.health)

    # Market data
    insert_klines = _Blocking(DataManagerClient.insert_klines)
    get_candles = _Blocking(DataManagerClient.get_candles)
    get_candle_arrays = _Blocking(DataManagerClient.get_candle_arrays)
    iter_candles = _BlockingIterator(DataManagerClient.iter_candles)
    iter_candle_arrays = _BlockingIterator(DataManagerClient.iter_candle_arrays)
    get_latest_kline = _Blocking(DataManagerClient.get_latest_kline)
    get_coverage = _Blocking(DataManagerClient.get_coverage)
    insert_trades = _Blocking(DataManagerClient.insert_trades)
    get_trades = _Blocking(DataManagerClient.get_trades)
    iter_trades = _BlockingIterator(DataManagerClient.iter_trades)
    insert_funding_rates = _Blocking(DataManagerClient.insert_funding_rates)
    get_funding_rates = _Blocking(DataManagerClient.get_funding_rates)
    iter_funding_rates = _BlockingIterator(DataManagerClient.iter_funding_rates)

    # Generic documents
    declare_collection = _Blocking(DataManagerClient.declare_collection)
    list_collections = _Blocking(DataManagerClient.list_collections)
    insert = _Blocking(DataManagerClient.insert)
    insert_one = _Blocking(DataManagerClient.insert_one)
    query = _Blocking(DataManagerClient.query)
    iter_query = _BlockingIterator(DataManagerClient.iter_query)
    update_one = _Blocking(DataManagerClient.update_one)
    delete = _Blocking(DataManagerClient.delete)

    # Trading state
    upsert_position = _Blocking(DataManagerClient.upsert_position)
    close_position = _Blocking(DataManagerClient.close_position)
    get_position = _Blocking(DataManagerClient.get_position)
    list_positions = _Blocking(DataManagerClient.list_positions)
    get_open_positions = _Blocking(DataManagerClient.get_open_positions)
    get_daily_pnl = _Blocking(DataManagerClient.get_daily_pnl)
    update_daily_pnl = _Blocking(DataManagerClient.update_daily_pnl)
    record_realized_pnl = _Blocking(DataManagerClient.record_realized_pnl)
    get_app_config = _Blocking(DataManagerClient.get_app_config)
    set_app_config = _Blocking(DataManagerClient.set_app_config)
    get_strategy_config = _Blocking(DataManagerClient.get_strategy_config)
    set_strategy_config = _Blocking(DataManagerClient.set_strategy_config)
    get_config_audit = _Blocking(DataManagerClient.get_config_audit)
