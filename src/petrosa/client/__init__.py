"""The Data Manager client library: the only way petrosa services reach the databases.

::

    from petrosa.client import DataManagerClient

    async with DataManagerClient() as dm:  # DATA_MANAGER_URL, DATA_MANAGER_TOKEN
        await dm.insert_klines("BTCUSDT", "1m", klines)

Errors form one hierarchy under ``DataManagerError``; see ``petrosa.client._exceptions``
for the tree and which of them are retried.
"""

from petrosa.client._batch import DEFAULT_CHUNK_ROWS, MAX_BATCH_ROWS
from petrosa.client._breaker import CircuitState
from petrosa.client._client import DataManagerClient
from petrosa.client._config import (
    DEFAULT_BACKOFF_INITIAL_S,
    DEFAULT_BACKOFF_MAX_S,
    DEFAULT_BASE_URL,
    DEFAULT_BREAKER_COOLDOWN_S,
    DEFAULT_BREAKER_THRESHOLD,
    DEFAULT_LIMITS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT_S,
    ClientOptions,
)
from petrosa.client._exceptions import (
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ConflictError,
    ConnectError,
    ConnectionLostError,
    DataManagerError,
    DecodingError,
    ErrorItem,
    HTTPStatusError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    ServiceUnavailableError,
    StaleFenceError,
    TransportError,
    ValidationError,
)
from petrosa.client._health import Readiness
from petrosa.client._page import Page
from petrosa.client._sync import SyncDataManagerClient

__all__ = [
    "DEFAULT_BACKOFF_INITIAL_S",
    "DEFAULT_BACKOFF_MAX_S",
    "DEFAULT_BASE_URL",
    "DEFAULT_BREAKER_COOLDOWN_S",
    "DEFAULT_BREAKER_THRESHOLD",
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOTAL_TIMEOUT_S",
    "MAX_BATCH_ROWS",
    "AuthenticationError",
    "BadRequestError",
    "CircuitOpenError",
    "CircuitState",
    "ClientOptions",
    "ConflictError",
    "ConnectError",
    "ConnectionLostError",
    "DataManagerClient",
    "DataManagerError",
    "DecodingError",
    "ErrorItem",
    "HTTPStatusError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "RateLimitedError",
    "Readiness",
    "RequestTimeoutError",
    "ServerError",
    "ServiceUnavailableError",
    "StaleFenceError",
    "SyncDataManagerClient",
    "TransportError",
    "ValidationError",
]
