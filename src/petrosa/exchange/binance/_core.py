"""The request loop: weight budget, one pooled HTTP connection, error mapping, retries.

Every endpoint method ends in ``BinanceCore._get``::

    attempt ─► budget.acquire(weight) ─► GET ─► settle(X-MBX-USED-WEIGHT-1M) ─► 2xx ─► JSON
       ▲        (banned: IPBannedError)                │
       │                                               └─► error: 418 ─► ban the budget, raise
       │                                                          429 ─► pause the budget ─┐
       │                                                  transport/5xx ─► backoff sleep ─┤
       └──────────────────────────────────────────────────────────────────────────────────┘
                                                          other 4xx ─► raise, never retried
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx
import orjson

from petrosa.exchange.binance._budget import (
    Reservation,
    WeightBudget,
    shared_budget,
    shared_funding_budget,
)
from petrosa.exchange.binance._config import (
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    USER_AGENT,
    Clock,
    RetryPolicy,
)
from petrosa.exchange.binance._errors import (
    BinanceAPIError,
    BinanceDecodingError,
    BinanceError,
    BinanceTransportError,
    IPBannedError,
    RateLimitedError,
    api_error_class,
    error_fields,
)
from petrosa.exchange.binance._markets import Endpoint, Market, MarketSpec, market_spec
from petrosa.exchange.binance._retry import ban_seconds, retry_delay
from petrosa.exchange.binance._settings import BinanceSettings
from petrosa.exchange.binance._stats import ClientStats
from petrosa.exchange.binance._weights import request_weight
from petrosa.resilience import RandomUnit, Sleep, parse_retry_after

log = logging.getLogger("petrosa.exchange.binance")

USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
_SUCCESS_STATUSES = range(200, 300)


@dataclass(frozen=True)
class _Cost:
    """What one request draws from one budget."""

    budget: WeightBudget
    weight: int
    reports_usage: bool
    """Whether ``X-MBX-USED-WEIGHT-1M`` is this budget's count."""


@dataclass(frozen=True)
class _Answer:
    """A decoded answer and the local clock readings around its request."""

    body: Any
    sent_at: float
    received_at: float


class BinanceCore:
    """Connection, budgets and the request loop shared by every endpoint method."""

    def __init__(
        self,
        market: Market | str,
        *,
        base_url: str | None = None,
        weight_budget: WeightBudget | None = None,
        funding_budget: WeightBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        random: RandomUnit | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        sync_clock: bool = True,
        settings: BinanceSettings | None = None,
    ) -> None:
        """Talk to ``market`` ("spot" or "futures") at ``base_url``.

        ``base_url`` defaults to ``BINANCE_API_URL`` / ``BINANCE_FUTURES_API_URL``.
        Without ``weight_budget`` the client uses the process-wide budget of that market and
        URL, or, when a ``clock`` is injected, a private one on that clock (tests).
        ``sync_clock`` measures the server clock with one ``/time`` call before the first
        request, so the budget's windows follow the server's minutes.
        ``transport``, ``clock``, ``sleep`` and ``random`` are for tests and embedding.
        """
        self.market = Market(market)
        self._spec: MarketSpec = market_spec(self.market)
        if base_url is None:
            base_url = (BinanceSettings() if settings is None else settings).base_url(self.market)
        self._sleep: Sleep = asyncio.sleep if sleep is None else sleep
        self._random: RandomUnit = _random.random if random is None else random
        self._retry = RetryPolicy() if retry is None else retry
        self._sync_clock = sync_clock
        private = clock is not None or sleep is not None
        if weight_budget is None:
            weight_budget = (
                WeightBudget.for_market(self.market, clock=clock, sleep=sleep)
                if private
                else shared_budget(self.market, base_url)
            )
        if funding_budget is None and self.market is Market.FUTURES:
            funding_budget = (
                WeightBudget.for_funding_rates(clock=clock, sleep=sleep)
                if private
                else shared_funding_budget(base_url)
            )
        # The server clock is measured in the budget's clock, which it is applied to.
        self._clock: Clock = weight_budget.clock if clock is None else clock
        self.budget = weight_budget
        """The request-weight budget this client draws from (shareable between clients)."""
        self.funding_budget = funding_budget
        """The ``fundingRate`` request budget (futures only, else None)."""
        self.stats = ClientStats()
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            limits=limits,
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        """Where this client sends its requests."""
        return str(self._http.base_url)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the pooled connections; the client cannot be used afterwards."""
        await self._http.aclose()

    async def server_time(self) -> int:
        """Binance's clock in epoch ms (``/time``); also re-synchronises the budget's clock."""
        answer = await self._request(Endpoint.TIME, {})
        server_ms = _server_time_of(answer.body)
        self.budget.observe_server_time(
            server_ms, sent_at=answer.sent_at, received_at=answer.received_at
        )
        return server_ms

    async def _get(
        self, endpoint: Endpoint, params: Mapping[str, Any], *, limit: int | None = None
    ) -> Any:
        """GET ``endpoint`` with retries under the budget; return the decoded JSON body."""
        if self._sync_clock and endpoint is not Endpoint.TIME:
            await self.budget.sync_clock(self.server_time)
        return (await self._request(endpoint, params, limit=limit)).body

    async def _request(
        self, endpoint: Endpoint, params: Mapping[str, Any], *, limit: int | None = None
    ) -> _Answer:
        costs = self._costs(endpoint, limit)
        path = self._spec.path(endpoint)
        query = {key: value for key, value in params.items() if value is not None}
        failures = pauses = attempts = 0
        while True:
            attempts += 1
            try:
                return await self._attempt(path, query, costs)
            except BinanceError as error:
                error.attempts = attempts
                if isinstance(error, RateLimitedError):
                    pauses += 1
                elif not isinstance(error, IPBannedError):
                    failures += 1
                delay = retry_delay(
                    error,
                    failures=failures,
                    pauses=pauses,
                    policy=self._retry,
                    random=self._random,
                )
                if delay is None:
                    raise
                self.stats.retries += 1
                log.warning(
                    "GET %s failed (attempt %d), retrying in %.2fs: %s",
                    path,
                    attempts,
                    delay,
                    error.message,
                )
                if delay > 0:
                    self.stats.backoff_s += delay
                    await self._sleep(delay)

    def _costs(self, endpoint: Endpoint, limit: int | None) -> list[_Cost]:
        """What a request draws, the request-weight budget last.

        Reservations are taken in this order and held until the answer; taking the weight
        last keeps a window's probe from sitting reserved while another limiter waits.
        """
        weight = _Cost(self.budget, request_weight(self.market, endpoint, limit=limit), True)
        if endpoint is Endpoint.FUNDING_RATE and self.funding_budget is not None:
            return [_Cost(self.funding_budget, 1, False), weight]
        return [weight]

    async def _attempt(self, path: str, query: Mapping[str, Any], costs: list[_Cost]) -> _Answer:
        """One request under the budgets; raises the mapped error for a failed answer."""
        response, sent_at = await self._send_budgeted(
            costs, lambda: self._http.get(path, params=query)
        )
        if response.status_code in _SUCCESS_STATUSES:
            return _Answer(_decode(response), sent_at=sent_at, received_at=self._clock())
        raise self._answer_error(response, costs)

    async def _send_budgeted(
        self, costs: list[_Cost], request: Callable[[], Awaitable[httpx.Response]]
    ) -> tuple[httpx.Response, float]:
        """Reserve the budgets, send, settle them with what the answer reports.

        ``request`` is called only once the weight is reserved (a signed request takes its
        timestamp then). Returns the answer, whatever its status, and when it was sent;
        transport failures become ``BinanceTransportError``.
        """
        reservations = await self._reserve(costs)
        sent_at = self._clock()
        try:
            response = await request()
        except httpx.TransportError as exc:
            error = _transport_error(exc)
            self._settle(costs, reservations, None, reached_server=error.sent)
            self._count_sent(costs, sent=error.sent)
            raise error from exc
        except BaseException:
            self._settle(costs, reservations, None, reached_server=True)
            self._count_sent(costs, sent=True)
            raise
        self._count_sent(costs, sent=True)
        used = _used_weight(response.headers)
        self._settle(costs, reservations, used, reached_server=True)
        if used is not None:
            self.stats.server_used_weight = used
        return response, sent_at

    def _count_sent(self, costs: list[_Cost], *, sent: bool) -> None:
        """Count a request that (possibly) reached Binance, with its request weight."""
        if sent:
            self.stats.requests += 1
            self.stats.weight += costs[-1].weight

    async def _reserve(self, costs: list[_Cost]) -> list[Reservation]:
        reservations: list[Reservation] = []
        try:
            for cost in costs:
                reservation = await cost.budget.acquire(cost.weight)
                self.stats.budget_wait_s += reservation.waited_s
                reservations.append(reservation)
        except BaseException:
            for cost, reservation in zip(costs, reservations, strict=False):
                cost.budget.settle(reservation, used_weight=None, reached_server=False)
            raise
        return reservations

    @staticmethod
    def _settle(
        costs: list[_Cost],
        reservations: list[Reservation],
        used: int | None,
        *,
        reached_server: bool,
    ) -> None:
        for cost, reservation in zip(costs, reservations, strict=True):
            cost.budget.settle(
                reservation,
                used_weight=used if cost.reports_usage else None,
                reached_server=reached_server,
            )

    def _answer_error(self, response: httpx.Response, costs: list[_Cost]) -> BinanceAPIError:
        """Map an error answer to its exception, pausing or banning the budgets as it says."""
        error = _status_error(response)
        if isinstance(error, RateLimitedError):
            self.stats.rate_limited += 1
            for cost in costs:
                cost.budget.rate_limited(error.retry_after_s)
        elif isinstance(error, IPBannedError):
            self.stats.banned += 1
            ban_s = ban_seconds(error.retry_after_s, error.msg, self.budget.server_now())
            error.retry_after_s = ban_s
            for cost in costs:
                cost.budget.ban(ban_s)
            log.error("Binance banned this IP (418) for %ss: %s", ban_s, error.message)
        return error


def _used_weight(headers: httpx.Headers) -> int | None:
    value = headers.get(USED_WEIGHT_HEADER)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _decode(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise BinanceDecodingError(
            f"{response.request.url.path} answered {response.status_code} with non-JSON content"
        ) from exc


def _server_time_of(body: Any) -> int:
    server_ms = body.get("serverTime") if isinstance(body, dict) else None
    if not isinstance(server_ms, int) or isinstance(server_ms, bool):
        raise BinanceDecodingError(f"/time answered without an integer serverTime: {body!r}")
    return server_ms


def _status_error(response: httpx.Response) -> BinanceAPIError:
    """The exception for an error answer, with Binance's code and message when present."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    code, msg = error_fields(body)
    status = response.status_code
    message = f"{status} {response.reason_phrase} for GET {response.request.url.path}"
    if code is not None or msg is not None:
        message = f"{message}: {msg} (code {code})"
    return api_error_class(status, code)(
        message,
        status=status,
        code=code,
        msg=msg,
        retry_after_s=parse_retry_after(response.headers.get("Retry-After")),
    )


def _transport_error(error: httpx.TransportError) -> BinanceTransportError:
    """Map httpx's transport errors, noting whether the request may have reached Binance."""
    description = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    never_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    return BinanceTransportError(f"no answer from Binance ({description})", sent=not never_sent)
