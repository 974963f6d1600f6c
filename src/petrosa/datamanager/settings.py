"""Data Manager configuration, read once from the environment."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from petrosa.webauth import DEFAULT_MAX_BODY_BYTES, BearerTokens

DEFAULT_DATABASE_URL = "sqlite:///var/petrosa.db"
MAX_BATCH_ROWS = 5_000
"""Largest write batch accepted in one request (klines, trades, funding, documents)."""
MAX_READ_LIMIT = 5_000
"""Largest page a read returns; larger ``limit`` values are rejected with 422."""
MAX_BULK_BODY_BYTES = 8 * 1024 * 1024
"""Default body limit of bulk writes (klines, trades, funding, document inserts): a full
``MAX_BATCH_ROWS`` batch as the client sends it is 1-2 MB (objects with long decimals)."""
MAX_DOCUMENT_BODY_BYTES = 2 * 1024 * 1024
"""Default body limit of the other document, position, P&L and config writes: one document
of the largest size (1 MiB) with room to spare."""


class DataManagerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DATA_MANAGER_", extra="ignore")

    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    host: str = "127.0.0.1"
    port: int = 8000
    query_timeout_s: float = Field(default=5.0, gt=0)
    connect_timeout_s: float = Field(default=3.0, gt=0)
    readiness_timeout_s: float = Field(default=2.0, gt=0)
    pool_size: int = Field(default=10, ge=1)
    max_overflow: int = Field(default=10, ge=0)
    read_tokens: SecretStr = SecretStr("")
    write_tokens: SecretStr = SecretStr("")
    allow_insecure_bind: bool = False
    candle_cache_ttl_s: float = Field(default=1.0, ge=0)
    """How long a cached "newest candles" answer may be served; 0 disables the cache.

    Local writes invalidate it at once; the TTL bounds staleness from other replicas' writes.
    """
    migrate_on_start: bool = True
    retry_after_s: int = Field(default=2, ge=1)
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)
    """Largest request body of an endpoint outside the two classes below (413 past it)."""
    max_body_bytes_bulk: int = Field(default=MAX_BULK_BODY_BYTES, ge=1)
    """Klines, trades, funding rates and document inserts (``app.BULK_PATHS``)."""
    max_body_bytes_documents: int = Field(default=MAX_DOCUMENT_BODY_BYTES, ge=1)
    """Other writes to documents, positions, P&L and config (``app.DOCUMENT_PATHS``)."""
    migration_lock_timeout_s: float = Field(default=60.0, gt=0)
    """How long migrating waits for another replica's migration lock before giving up."""

    @cached_property
    def tokens(self) -> BearerTokens:
        """The bearer tokens; none configured means auth is off."""
        return BearerTokens.from_settings(self.read_tokens, self.write_tokens)

    @property
    def auth_enabled(self) -> bool:
        return self.tokens.enabled
