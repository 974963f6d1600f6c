"""Data Manager configuration, read once from the environment."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from petrosa.webauth import BearerTokens

DEFAULT_DATABASE_URL = "sqlite:///var/petrosa.db"
MAX_BATCH_ROWS = 5_000
"""Largest write batch accepted in one request (klines, trades, funding, documents)."""
MAX_READ_LIMIT = 5_000
"""Largest page a read returns; larger ``limit`` values are rejected with 422."""


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
    migration_lock_timeout_s: float = Field(default=60.0, gt=0)
    """How long migrating waits for another replica's migration lock before giving up."""

    @cached_property
    def tokens(self) -> BearerTokens:
        """The bearer tokens; none configured means auth is off."""
        return BearerTokens.from_settings(self.read_tokens, self.write_tokens)

    @property
    def auth_enabled(self) -> bool:
        return self.tokens.enabled
