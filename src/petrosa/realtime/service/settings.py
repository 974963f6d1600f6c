"""Realtime-service configuration from the environment, read once at start.

``REALTIME_*`` for the service's own knobs; the platform-wide names as spelled everywhere
else: ``NATS_URL``, ``DATA_MANAGER_URL``. Coordination (``COORDINATION_URL``, ``HOSTNAME``)
is read by ``petrosa.coordination.CoordinationSettings``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from petrosa.contracts.market import DEFAULT_SYMBOLS, Market

DEFAULT_PORT = 8030
DEFAULT_CONFIG_KEY = "realtime.strategies"
SIGNALS_SUBJECT = "signals.trading"
SIGNALS_STREAM = "SIGNALS"
"""The trade engine's stream; created here with the engine's configuration when missing, so
a signal published before the engine ever ran is kept rather than refused."""
SIGNALS_COLLECTION = "realtime_signals"


def _split(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class RealtimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REALTIME_", extra="ignore", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    markets: Annotated[tuple[Market, ...], NoDecode] = (Market.FUTURES,)
    symbols: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SYMBOLS
    """Uppercase; every (market, symbol) is one lease, owned by one replica at a time."""

    nats_url: str = Field(
        default="nats://127.0.0.1:4222", validation_alias=AliasChoices("NATS_URL")
    )
    data_manager_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATA_MANAGER_URL")
    )
    """Parameters, candle seeding and signal records; None runs on defaults, unrecorded."""

    lease_ttl_s: float = Field(default=10.0, gt=0.5)
    """A dead replica's symbols are taken over about this long after it died."""
    max_replicas: int = Field(default=16, ge=1, le=256)
    """Registry slots (one lease each): replicas beyond this count take no symbols."""
    book_grace_s: float = Field(default=2.0, gt=0)
    """``depth20_100ms`` is fed only when no maintained book arrived for this long."""
    input_grace_s: float = Field(default=15.0, gt=0)
    """After taking a symbol, how long its feeds may stay silent before readiness fails."""
    tick_s: float = Field(default=1.0, gt=0)
    seed_candles: int = Field(default=60, ge=0, le=1_000)
    """1m candles read from the Data Manager when a symbol is taken (the ATR's history)."""
    config_key: str = DEFAULT_CONFIG_KEY
    config_poll_s: float = Field(default=15.0, ge=0)
    """How often the parameter document is read (0: never)."""
    signals_subject: str = SIGNALS_SUBJECT
    """Exactly ``signals.trading`` in deployments (the trade engine's subject); tests use
    their own so that runs never share a stream."""
    signals_stream: str = SIGNALS_STREAM
    publish_attempts: int = Field(default=5, ge=1)
    ack_timeout_s: float = Field(default=2.0, gt=0)
    record_attempts: int = Field(default=8, ge=1)
    queue_size: int = Field(default=10_000, ge=1)
    ownership_journal: Path | None = None
    """Append every lease gained, renewed, released or lost as a JSON line (tests, audits)."""

    @field_validator("markets", "symbols", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    @field_validator("symbols")
    @classmethod
    def _uppercase(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for symbol in value:
            if not symbol.isalnum() or symbol != symbol.upper():
                raise ValueError(f"symbol {symbol!r} must be uppercase letters or digits")
        return value
