"""Signed requests under the shared weight budget: ``BinanceCore``'s request loop for any
method, with Binance's signing and the trading branch of the error tree.

::

   _send ─► budget.acquire(weight) ─► sign (timestamp by the server clock) ─► request ─► JSON
      ▲                                                                           │
      ├── -1021 (clocks apart): measure the server clock again, send once more ◄──┤
      ├── 429: pause the budget, send again (Binance processed nothing) ◄─────────┤
      ├── transport error / 5xx on a read: backoff, send again ◄──────────────────┤
      │        ... on an order placement or cancel: raise; the caller looks the   │
      │        order up, since it may have been processed                         │
      └── any other error: raise ◄────────────────────────────────────────────────┘
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import Any

import httpx

from petrosa.exchange.binance._core import (
    BinanceCore,
    _Cost,
    _decode,
)
from petrosa.exchange.binance._errors import BinanceError, IPBannedError, RateLimitedError
from petrosa.exchange.binance._markets import Market
from petrosa.exchange.binance._retry import backoff_delay, retry_delay
from petrosa.exchange.binance._signing import API_KEY_HEADER, Param, encode_query, signed_query
from petrosa.exchange.binance._trading_endpoints import TradingEndpoint
from petrosa.exchange.binance._trading_errors import (
    TimestampOutsideRecvWindowError,
    trading_error,
)

log = logging.getLogger("petrosa.exchange.binance")

DEFAULT_RECV_WINDOW_MS = 5_000
"""Binance's own default, and the most it recommends."""
_MS_PER_S = 1_000
_SUCCESS_STATUSES = range(200, 300)


class SignedCore(BinanceCore):
    """``BinanceCore`` on the futures market, with the account's key and secret."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        base_url: str,
        recv_window_ms: int | None = DEFAULT_RECV_WINDOW_MS,
        **options: Any,
    ) -> None:
        super().__init__(Market.FUTURES, base_url=base_url, **options)
        self._secret = api_secret
        self._recv_window_ms = recv_window_ms
        self._http.headers[API_KEY_HEADER] = api_key

    async def _pause(self, seconds: float) -> None:
        """Sleep on the injected sleep."""
        await self._sleep(seconds)

    def _backoff_s(self, failures: int) -> float:
        """The retry policy's jittered backoff after ``failures`` failed attempts."""
        return backoff_delay(failures, self._retry, self._random)

    def _timestamp_ms(self) -> int:
        """Now by the server's clock (as last measured), in epoch ms."""
        return int(self.budget.server_now() * _MS_PER_S)

    async def _send(self, endpoint: TradingEndpoint, params: Sequence[tuple[str, Param]]) -> Any:
        """Call ``endpoint`` with ``params`` (signed when it is); the decoded JSON body."""
        if self._sync_clock:
            await self.budget.sync_clock(self.server_time)
        costs = [_Cost(self.budget, endpoint.weight_for(params), True)]
        failures = pauses = attempts = 0
        resynced = False
        while True:
            attempts += 1
            try:
                return await self._attempt_signed(endpoint, params, costs)
            except TimestampOutsideRecvWindowError:
                if resynced:
                    raise
                resynced = True
                await self.server_time()
            except BinanceError as error:
                error.attempts = attempts
                if isinstance(error, RateLimitedError):
                    pauses += 1
                elif not isinstance(error, IPBannedError):
                    failures += 1
                if not endpoint.idempotent and not isinstance(error, RateLimitedError):
                    raise
                delay = retry_delay(
                    error, failures=failures, pauses=pauses, policy=self._retry, random=self._random
                )
                if delay is None:
                    raise
                self.stats.retries += 1
                log.warning(
                    "%s %s failed (attempt %d), retrying in %.2fs: %s",
                    endpoint.method,
                    endpoint.path,
                    attempts,
                    delay,
                    error.message,
                )
                if delay > 0:
                    self.stats.backoff_s += delay
                    await self._sleep(delay)

    def _query(self, endpoint: TradingEndpoint, params: Sequence[tuple[str, Param]]) -> str:
        if not endpoint.signed:
            return encode_query(params)
        return signed_query(
            params,
            secret=self._secret,
            timestamp_ms=self._timestamp_ms(),
            recv_window_ms=self._recv_window_ms,
        )

    async def _attempt_signed(
        self, endpoint: TradingEndpoint, params: Sequence[tuple[str, Param]], costs: list[_Cost]
    ) -> Any:
        """One request under the budget; raises the mapped error for a failed answer."""

        def send() -> Awaitable[httpx.Response]:
            query = self._query(endpoint, params)  # signed now: the weight is reserved
            target = f"{endpoint.path}?{query}" if query else endpoint.path
            return self._http.request(endpoint.method, target)

        response, _sent_at = await self._send_budgeted(costs, send)
        if response.status_code in _SUCCESS_STATUSES:
            return _decode(response)
        error = self._answer_error(response, costs)
        raise trading_error(error, _describe(response, endpoint, error.code, error.msg))


def _describe(
    response: httpx.Response, endpoint: TradingEndpoint, code: int | None, msg: str | None
) -> str:
    status = f"{response.status_code} {response.reason_phrase}"
    message = f"{status} for {endpoint.method} {endpoint.path}"
    if code is not None or msg is not None:
        message = f"{message}: {msg} (code {code})"
    return message
