"""The client core: one pooled httpx connection, auth, error mapping, retries and breaker.

Every domain method ends in ``ClientCore._request``, which runs this loop::

    attempt ─► breaker.acquire ─► HTTP ─► 2xx ─► decoded JSON
       ▲        (open: CircuitOpenError)   │
       │                                   └─► error ─► retryable, attempts and time left?
       └── sleep(max(full-jitter backoff, Retry-After)) ◄── yes     no ─► raise it
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from petrosa.client._breaker import CircuitBreaker, CircuitState
from petrosa.client._config import (
    DEFAULT_BACKOFF_INITIAL_S,
    DEFAULT_BACKOFF_MAX_S,
    DEFAULT_BREAKER_COOLDOWN_S,
    DEFAULT_BREAKER_THRESHOLD,
    DEFAULT_LIMITS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT_S,
    BreakerPolicy,
    Clock,
    RetryPolicy,
    resolve_base_url,
    resolve_token,
)
from petrosa.client._core import Requester
from petrosa.client._exceptions import (
    ConnectError,
    ConnectionLostError,
    DataManagerError,
    HTTPStatusError,
    NotFoundError,
    RequestTimeoutError,
    TransportError,
    error_class_for,
    parse_error_items,
)
from petrosa.client._health import ERROR_STATUS, READINESS_PATH, UNREACHABLE_STATUS, Readiness
from petrosa.client._health import readiness_from_answer as _readiness_from_answer
from petrosa.client._json import decode_json, encode_json
from petrosa.client._retry import is_retryable, retry_delay
from petrosa.resilience import RandomUnit, Sleep, parse_retry_after

log = logging.getLogger("petrosa.client")

USER_AGENT = "petrosa-client"
BREAKER_FAILURE_STATUSES = frozenset({502, 503, 504})
"""Answers that mean the service is down, not that this request was wrong."""
MIN_ATTEMPT_S = 0.05
"""A retry is only sent with at least this much of the time budget left for it; with less,
it could not complete a round trip and would only turn the last error into a timeout."""
_SUCCESS_STATUSES = range(200, 300)
_DETAIL_ITEMS_IN_MESSAGE = 3


class ClientCore(Requester):
    """Implements the ``Requester`` protocol that the domain mixins are written against."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT_S,
        backoff_initial: float = DEFAULT_BACKOFF_INITIAL_S,
        backoff_max: float = DEFAULT_BACKOFF_MAX_S,
        breaker_threshold: int = DEFAULT_BREAKER_THRESHOLD,
        breaker_cooldown: float = DEFAULT_BREAKER_COOLDOWN_S,
        limits: httpx.Limits = DEFAULT_LIMITS,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        random: RandomUnit | None = None,
    ) -> None:
        """Connect lazily to ``base_url`` (default: env ``DATA_MANAGER_URL``, then local).

        ``token`` (default: env ``DATA_MANAGER_TOKEN``) is sent as a bearer token.
        ``timeout`` bounds each attempt; ``total_timeout`` bounds a whole call including its
        retries and waits; ``max_attempts`` counts the first try. ``breaker_threshold``
        consecutive failures open the circuit for ``breaker_cooldown`` seconds.
        ``transport``, ``sleep``, ``clock`` and ``random`` are for tests and embedding.
        """
        self._retry = RetryPolicy(
            max_attempts=max_attempts,
            total_timeout_s=total_timeout,
            backoff_initial_s=backoff_initial,
            backoff_max_s=backoff_max,
        )
        self._clock: Clock = time.monotonic if clock is None else clock
        self._sleep: Sleep = asyncio.sleep if sleep is None else sleep
        self._random: RandomUnit = _random.random if random is None else random
        self._breaker = CircuitBreaker(
            BreakerPolicy(failure_threshold=breaker_threshold, cooldown_s=breaker_cooldown),
            self._clock,
        )
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        bearer = resolve_token(token)
        if bearer is not None:
            all_headers["Authorization"] = f"Bearer {bearer}"
        self._http = httpx.AsyncClient(
            base_url=resolve_base_url(base_url),
            headers=all_headers,
            timeout=self._timeout,
            limits=limits,
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        """The Data Manager's address."""
        return str(self._http.base_url)

    @property
    def circuit_state(self) -> CircuitState:
        """The circuit breaker's state: closed, open or half_open."""
        return self._breaker.state

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

    async def health(self) -> Readiness:
        """Ask ``/health/readiness`` once; never raises for an unready or unreachable server.

        It bypasses retries and the circuit breaker, so it reports the server as it is now.
        """
        try:
            response = await self._http.get(READINESS_PATH)
        except httpx.TransportError as error:
            return Readiness(
                ready=False, status=UNREACHABLE_STATUS, error=str(_transport_error(error))
            )
        try:
            body = decode_json(response.content)
        except DataManagerError as error:
            return Readiness(
                ready=False, status=ERROR_STATUS, status_code=response.status_code, error=str(error)
            )
        return _readiness_from_answer(response.status_code, body)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool = True,
        not_found_ok: bool = False,
    ) -> Any:
        """Send one request with retries and the breaker; return the decoded JSON body."""
        content = None if json is None else encode_json(json)
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            remaining = self._retry.total_timeout_s - (self._clock() - started)
            try:
                response = await self._attempt(method, path, params, content, remaining)
                return decode_json(response.content)
            except DataManagerError as error:
                if not_found_ok and isinstance(error, NotFoundError):
                    return None
                error.attempts = attempt
                delay = self._next_delay(error, attempt, started, idempotent=idempotent)
                if delay is None:
                    raise
                log.warning(
                    "%s %s failed (attempt %d of %d), retrying in %.2fs: %s",
                    method,
                    path,
                    attempt,
                    self._retry.max_attempts,
                    delay,
                    error.message,
                )
                await self._sleep(delay)

    def _next_delay(
        self, error: DataManagerError, attempt: int, started: float, *, idempotent: bool
    ) -> float | None:
        """Seconds to wait before retrying, or None when this error must be raised."""
        if not is_retryable(error, idempotent=idempotent):
            return None
        if attempt >= self._retry.max_attempts:
            return None
        delay = retry_delay(error, attempt, self._retry, self._random)
        left_after_wait = self._retry.total_timeout_s - (self._clock() - started + delay)
        if left_after_wait < MIN_ATTEMPT_S:
            return None
        return delay

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        remaining_s: float,
    ) -> httpx.Response:
        """One request through the breaker; raises the mapped error for a failed answer."""
        trial = self._breaker.acquire()
        try:
            response = await self._http.request(
                method,
                path,
                params=_query(params),
                content=content,
                headers=None if content is None else {"Content-Type": "application/json"},
                timeout=_capped(self._timeout, remaining_s),
            )
        except httpx.TransportError as error:
            self._breaker.record_failure()
            raise _transport_error(error) from error
        except BaseException:
            self._breaker.release(trial=trial)
            raise
        if response.status_code in BREAKER_FAILURE_STATUSES:
            self._breaker.record_failure()
        else:
            self._breaker.record_success()
        if response.status_code not in _SUCCESS_STATUSES:
            raise _status_error(response)
        return response


def _query(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without the ``None`` ones (an absent filter, not the text "None")."""
    if params is None:
        return None
    return {key: value for key, value in params.items() if value is not None}


def _capped(timeout: httpx.Timeout, remaining_s: float) -> httpx.Timeout:
    """Each phase's timeout, cut to what is left of the call's total budget."""

    def cap(limit: float | None) -> float:
        return max(remaining_s, 0.0) if limit is None else max(min(limit, remaining_s), 0.0)

    return httpx.Timeout(
        connect=cap(timeout.connect),
        read=cap(timeout.read),
        write=cap(timeout.write),
        pool=cap(timeout.pool),
    )


def _transport_error(error: httpx.TransportError) -> TransportError:
    """Map httpx's transport errors onto this client's, by whether the request was sent."""
    description = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return ConnectError(f"cannot connect to the Data Manager ({description})")
    if isinstance(error, httpx.TimeoutException):
        return RequestTimeoutError(f"no answer from the Data Manager in time ({description})")
    if isinstance(error, httpx.NetworkError | httpx.RemoteProtocolError):
        return ConnectionLostError(f"connection to the Data Manager lost ({description})")
    return TransportError(f"request to the Data Manager failed ({description})")


def _status_error(response: httpx.Response) -> HTTPStatusError:
    """The exception for an error answer, carrying the server's ``detail``."""
    try:
        body = decode_json(response.content)
    except DataManagerError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    request = response.request
    message = (
        f"{response.status_code} {response.reason_phrase} for {request.method} {request.url.path}"
    )
    summary = _summarize(detail)
    if summary:
        message = f"{message}: {summary}"
    return error_class_for(response.status_code, body)(
        message,
        status_code=response.status_code,
        method=request.method,
        url=str(request.url),
        detail=detail,
        body=body,
        retry_after_s=parse_retry_after(response.headers.get("Retry-After")),
    )


def _summarize(detail: Any) -> str:
    """A readable one-liner of ``detail``: the text, or the first few ``loc: msg`` items."""
    if detail is None:
        return ""
    if isinstance(detail, str):
        return detail
    items = parse_error_items(detail)
    if not items:
        return str(detail)
    shown = [
        f"{'.'.join(str(part) for part in item.loc)}: {item.msg}"
        for item in items[:_DETAIL_ITEMS_IN_MESSAGE]
    ]
    hidden = len(items) - len(shown)
    if hidden > 0:
        shown.append(f"and {hidden} more")
    return "; ".join(shown)
