"""TA bot service configuration from the environment, read once at start.

These are the deployment's wiring (addresses, streams, consumers) and the defaults of the
trading configuration. What operators change at run time — enabled strategies, symbols,
timeframes, parameters, confidence bounds — lives in the Data Manager's configuration API
(``petrosa.tabot.service.config``) and overrides the defaults here without a restart.
"""

from __future__ import annotations

import socket
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from petrosa.contracts import Interval, Market
from petrosa.contracts.market import DEFAULT_SYMBOLS
from petrosa.webauth import DEFAULT_MAX_BODY_BYTES

DEFAULT_TIMEFRAMES = (Interval.M15, Interval.H1)


class TabotSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TABOT_", extra="ignore", populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = 8020
    read_tokens: SecretStr = SecretStr("")
    """Bearer tokens for ``GET /config`` (comma-separated; write tokens read too)."""
    write_tokens: SecretStr = SecretStr("")
    """Bearer tokens for the configuration writes. With no tokens at all, auth is off, and
    ``serve`` refuses a non-loopback address unless ``allow_insecure_bind``."""
    allow_insecure_bind: bool = False
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)
    nats_url: str = Field(
        default="nats://127.0.0.1:4222", validation_alias=AliasChoices("TABOT_NATS_URL", "NATS_URL")
    )
    market: Market = Market.FUTURES
    """The market whose candles this deployment reads and whose signals it publishes."""
    symbols: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_SYMBOLS,
        validation_alias=AliasChoices("TABOT_SYMBOLS", "DEFAULT_SYMBOLS"),
    )
    """Symbols evaluated until the configuration document names others."""
    timeframes: Annotated[tuple[Interval, ...], NoDecode] = DEFAULT_TIMEFRAMES
    """Intervals evaluated until the configuration document names others."""

    config_key: str = "tabot.service"
    """App-configuration key of the service document (``ServiceConfig``) in the Data Manager."""
    config_poll_s: float = Field(default=5.0, gt=0)
    """How often the Data Manager's configuration audit is checked for changes."""
    changed_by: str = "tabot"

    window_margin: int = Field(default=2, ge=0, le=100)
    """Rows fetched beyond the largest enabled ``rows_needed()``."""

    events_stream: str = "KLINE_EVENTS"
    """JetStream stream keeping the extractor's ``binance.klines.<SYMBOL>.<interval>`` events."""
    events_durable: str = "tabot"
    events_max_age_s: float = Field(default=24 * 3600.0, gt=0)
    socket_klines: bool = True
    """Also evaluate on closed klines of the socket client's stream, when it exists."""
    klines_stream: str = "BINANCE_KLINES"
    klines_durable: str = "tabot-klines"
    ack_wait_s: float = Field(default=60.0, gt=0)
    max_deliver: int = Field(default=10, ge=1)
    """Deliveries of one trigger before it is given up (a dependency down for that long)."""
    retry_delay_s: float = Field(default=2.0, gt=0)
    """Redelivery delay of a trigger that could not be handled (DM or NATS unavailable)."""

    signals_subject: str = "signals.trading"
    signals_stream: str = "SIGNALS"
    """The trade engine's stream (``TRADEENGINE_NATS_STREAM``); created alike when missing."""
    alerts_prefix: str = "alerts.ta"
    publish_attempts: int = Field(default=5, ge=1)
    publish_timeout_s: float = Field(default=5.0, gt=0)
    signals_collection: str = "ta_signals"
    """Data Manager documents collection recording every signal and alert by signal id."""

    replica: str = Field(
        default_factory=socket.gethostname,
        validation_alias=AliasChoices("TABOT_REPLICA", "HOSTNAME"),
    )

    @field_validator("symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(s.strip().upper() for s in value.split(",") if s.strip())
        return value

    @field_validator("timeframes", mode="before")
    @classmethod
    def _split_timeframes(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(s.strip() for s in value.split(",") if s.strip())
        return value
