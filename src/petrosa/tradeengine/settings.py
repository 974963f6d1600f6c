"""Trade-engine configuration from the environment, read once at start."""

from __future__ import annotations

import datetime as dt
import socket
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from petrosa.contracts.market import DEFAULT_SYMBOLS
from petrosa.webauth import DEFAULT_MAX_BODY_BYTES


class TradeEngineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEENGINE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8010
    exchange: Literal["paper", "binance"] = "paper"
    """paper: the exchange simulator at BINANCE_FUTURES_API_URL; binance: the real exchange."""
    testnet: bool = True
    api_key: SecretStr = SecretStr("paper-key")
    api_secret: SecretStr = SecretStr("paper-secret")
    read_tokens: SecretStr = SecretStr("")
    """Bearer tokens for the read endpoints (comma-separated; write tokens read too)."""
    write_tokens: SecretStr = SecretStr("")
    """Bearer tokens for POST /signals and closing positions. With no tokens at all, auth is
    off, and ``serve`` refuses a non-loopback address unless ``allow_insecure_bind``."""
    allow_insecure_bind: bool = False
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)
    """Largest request body (a signal); bigger ones get 413, unauthenticated ones 401 unread."""
    symbols: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SYMBOLS
    """Symbols the engine trades; signals for others are rejected as unknown."""
    max_signal_age_s: float = Field(default=60.0, gt=0)
    """Older signals are stale and rejected. A candle signal (``candle_close_time`` and a
    fixed-length ``timeframe``) may be as old as its timeframe when that is longer: it is
    stamped with the candle's close and stays valid until the next candle closes."""
    max_clock_skew_s: float = Field(default=5.0, ge=0)
    """Signals stamped further in the future than this are rejected (clock skew allowance)."""
    default_notional: Decimal = Decimal("100")
    """Order size in USDT when a signal gives neither quantity nor position_size_pct."""
    max_price_deviation_pct: Decimal = Field(default=Decimal("5"), gt=0)
    """Signals adding risk at a price further than this (percent) from the mark are rejected;
    orders are sized and risk-checked at the mark, never at the signal's price."""
    max_position_notional: Decimal = Decimal("1000")
    max_total_exposure: Decimal = Decimal("3")
    max_daily_loss: Decimal = Decimal("500")
    max_open_positions: int = 10
    cooldown_s: float = Field(default=0.0, ge=0)
    account_cache_s: float = Field(default=2.0, ge=0)
    """How long a replica reuses the exchange's account equity for sizing and risk, and the
    mark prices valuing other symbols' open positions in total exposure."""
    reconcile_every_s: float = Field(default=60.0, gt=0)
    """How often the leader reconciles positions and stores their unrealized P&L."""
    lock_ttl_s: float = Field(default=10.0, gt=0)
    lock_wait_s: float = Field(default=30.0, ge=0)
    nats_subject: str = "signals.trading"
    nats_stream: str = "SIGNALS"
    nats_durable: str = "tradeengine"
    nats_ack_wait_s: float = Field(default=30.0, gt=0)
    replica: str = Field(default_factory=socket.gethostname)
    nats_max_deliver: int = Field(default=20, ge=1)
    """Deliveries of one signal message before it is given up on and dead-lettered (failed
    deliveries are retried after 1, 2, 4… up to 10 s: 20 cover about 3 minutes)."""

    @field_validator("symbols", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(s.strip().upper() for s in value.split(",") if s.strip())
        return value

    @property
    def cooldown(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.cooldown_s)
