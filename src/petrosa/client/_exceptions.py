"""The client's exceptions: every failure of a Data Manager call is a ``DataManagerError``.

Hierarchy (``[retried]`` = retried with backoff; ``[retried*]`` = retried only when the
request is idempotent, because the request may already have reached the server)::

    DataManagerError
    ├── TransportError                  the request failed below HTTP
    │   ├── ConnectError                [retried]  no connection (refused, DNS, connect
    │   │                                          timeout); the request was never sent
    │   ├── RequestTimeoutError         [retried*] read, write or pool timeout
    │   └── ConnectionLostError         [retried*] connection dropped mid-request
    ├── CircuitOpenError                the breaker is open: failed fast, nothing was sent
    ├── DecodingError                   the answer is not the JSON shape that was expected
    └── HTTPStatusError                 the server answered with an error status
        ├── BadRequestError             400
        ├── AuthenticationError         401
        ├── PermissionDeniedError       403
        ├── NotFoundError               404
        ├── ConflictError               409
        │   └── StaleFenceError         409 on a fenced position write: a newer lock
        │                                   holder has written since (never retried)
        ├── ValidationError             422, ``errors`` holds the server's ``detail`` items
        ├── RateLimitedError            429  [retried*]  honours ``Retry-After``
        └── ServerError                 5xx (500 is never retried: it is a bug, not an outage)
            └── ServiceUnavailableError 502, 503, 504  [retried*]  honours ``Retry-After``

Other statuses (e.g. 405, 413) raise a plain ``HTTPStatusError``.

When retries run out (``max_attempts`` reached, or the next wait would overrun the total
time budget) the **last error is re-raised** rather than wrapped, so ``except
ServiceUnavailableError`` works the same with or without retries; its ``attempts`` tells
how many requests were made. ``CircuitOpenError`` is never retried: it exists to fail fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class DataManagerError(Exception):
    """Base class of every error raised by the Data Manager client."""

    attempts: int
    """How many requests were sent (or refused by the breaker) before this error."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts

    def __str__(self) -> str:
        if self.attempts > 1:
            return f"{self.message} (after {self.attempts} attempts)"
        return self.message


class TransportError(DataManagerError):
    """The request failed before an HTTP answer arrived."""


class ConnectError(TransportError):
    """No connection could be made; the request was never sent, so it is always retried."""


class RequestTimeoutError(TransportError):
    """No answer in time; the server may have acted on the request."""


class ConnectionLostError(TransportError):
    """The connection broke mid-request; the server may have acted on the request."""


class CircuitOpenError(DataManagerError):
    """The circuit breaker is open after repeated failures: the call failed fast."""

    def __init__(self, message: str, *, retry_after_s: float, attempts: int = 1) -> None:
        super().__init__(message, attempts=attempts)
        self.retry_after_s = retry_after_s
        """Seconds until the breaker lets a trial request through."""


class DecodingError(DataManagerError):
    """The server's answer is not valid JSON or not the shape this client expects."""


class HTTPStatusError(DataManagerError):
    """The server answered with an error status; ``detail`` is its ``detail`` field."""

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str,
        url: str,
        detail: Any = None,
        body: Any = None,
        retry_after_s: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.status_code = status_code
        self.method = method
        self.url = url
        self.detail = detail
        self.body = body
        """The whole decoded answer (``detail`` and any fields beside it), when it was JSON."""
        self.retry_after_s = retry_after_s
        """The server's ``Retry-After`` in seconds, when it sent one."""


class BadRequestError(HTTPStatusError):
    """400: the request is malformed."""


class AuthenticationError(HTTPStatusError):
    """401: the token is missing or invalid."""


class PermissionDeniedError(HTTPStatusError):
    """403: the token may not do this (e.g. a read token on a write)."""


class NotFoundError(HTTPStatusError):
    """404: unknown collection, position, configuration key..."""


class ConflictError(HTTPStatusError):
    """409: the request contradicts stored state."""


STALE_FENCE_CODE = "stale_fence"
"""The ``code`` beside ``detail`` in a 409 that refuses a stale fencing token."""


class StaleFenceError(ConflictError):
    """409: the write's fencing token is older than the position's; nothing was written.

    The caller's lease lock was taken over and the new holder has written since: stop
    acting on this symbol rather than retry.
    """

    fence: int | None
    """The token this write carried."""
    stored_fence: int | None
    """The newer token the position holds."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        fields = self.body if isinstance(self.body, dict) else {}
        self.fence = _int_or_none(fields.get("fence"))
        self.stored_fence = _int_or_none(fields.get("stored_fence"))


@dataclass(frozen=True)
class ErrorItem:
    """One entry of a 422 ``detail`` list: where (``loc``), what (``msg``), which kind."""

    loc: tuple[str | int, ...]
    msg: str
    type: str


class ValidationError(HTTPStatusError):
    """422: the server rejected the input; nothing from the batch was written."""

    errors: list[ErrorItem]

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors = parse_error_items(self.detail)


class RateLimitedError(HTTPStatusError):
    """429: too many requests."""


class ServerError(HTTPStatusError):
    """5xx: the server failed."""


class ServiceUnavailableError(ServerError):
    """502, 503, 504: the service or its database is (temporarily) unreachable."""


STATUS_ERRORS: dict[int, type[HTTPStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitedError,
    502: ServiceUnavailableError,
    503: ServiceUnavailableError,
    504: ServiceUnavailableError,
}

_SERVER_ERROR_STATUSES = range(500, 600)


def error_class_for(status_code: int, body: Any = None) -> type[HTTPStatusError]:
    """The exception class for an error status (and the answer's ``code``, if it has one)."""
    if status_code == 409 and isinstance(body, dict) and body.get("code") == STALE_FENCE_CODE:
        return StaleFenceError
    known = STATUS_ERRORS.get(status_code)
    if known is not None:
        return known
    if status_code in _SERVER_ERROR_STATUSES:
        return ServerError
    return HTTPStatusError


def parse_error_items(detail: Any) -> list[ErrorItem]:
    """FastAPI's ``detail`` list as ``ErrorItem``s; anything else gives an empty list."""
    if not isinstance(detail, list):
        return []
    items: list[ErrorItem] = []
    for entry in detail:
        if not isinstance(entry, dict):
            continue
        loc = entry.get("loc", ())
        items.append(
            ErrorItem(
                loc=tuple(loc) if isinstance(loc, Sequence) and not isinstance(loc, str) else (),
                msg=str(entry.get("msg", "")),
                type=str(entry.get("type", "")),
            )
        )
    return items


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
