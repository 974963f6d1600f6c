"""Named defaults and the client's configuration: where to connect, how hard to retry."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypedDict

import httpx

from petrosa.resilience import RandomUnit, Sleep

URL_ENV = "DATA_MANAGER_URL"
TOKEN_ENV = "DATA_MANAGER_TOKEN"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_TOTAL_TIMEOUT_S = 30.0
"""Budget for one call including all its retries and waits."""
DEFAULT_BACKOFF_INITIAL_S = 0.2
DEFAULT_BACKOFF_MAX_S = 5.0

DEFAULT_BREAKER_THRESHOLD = 5
"""Consecutive failed requests that open the circuit."""
DEFAULT_BREAKER_COOLDOWN_S = 10.0
"""How long an open circuit fails fast before letting one trial request through."""

Clock = Callable[[], float]
"""Monotonic seconds, like ``time.monotonic``."""


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed request is retried: exponential backoff with full jitter, two caps."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    total_timeout_s: float = DEFAULT_TOTAL_TIMEOUT_S
    backoff_initial_s: float = DEFAULT_BACKOFF_INITIAL_S
    backoff_max_s: float = DEFAULT_BACKOFF_MAX_S

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.total_timeout_s <= 0:
            raise ValueError("total_timeout must be positive")
        if not 0 <= self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError("need 0 <= backoff_initial <= backoff_max")


@dataclass(frozen=True)
class BreakerPolicy:
    """When the circuit opens (consecutive failures) and how long it stays open."""

    failure_threshold: int = DEFAULT_BREAKER_THRESHOLD
    cooldown_s: float = DEFAULT_BREAKER_COOLDOWN_S

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("breaker_threshold must be at least 1")
        if self.cooldown_s < 0:
            raise ValueError("breaker_cooldown must not be negative")


class ClientOptions(TypedDict, total=False):
    """The keyword options of ``DataManagerClient``, for the clients that wrap it."""

    token: str | None
    timeout: float | httpx.Timeout
    max_attempts: int
    total_timeout: float
    backoff_initial: float
    backoff_max: float
    breaker_threshold: int
    breaker_cooldown: float
    limits: httpx.Limits
    headers: Mapping[str, str] | None
    transport: httpx.AsyncBaseTransport | None
    sleep: Sleep | None
    clock: Clock | None
    random: RandomUnit | None


def resolve_base_url(base_url: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The explicit URL, else ``DATA_MANAGER_URL``, else the local default."""
    if base_url is not None:
        return base_url
    return environ.get(URL_ENV) or DEFAULT_BASE_URL


def resolve_token(token: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The explicit token, else ``DATA_MANAGER_TOKEN``, else none; ``""`` means none."""
    if token is not None:
        return token or None
    return environ.get(TOKEN_ENV) or None
