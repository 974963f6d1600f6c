"""Socket-client configuration from the environment, read once at start.

``SOCKET_CLIENT_*`` for the service's own knobs; the platform-wide names as they are
spelled everywhere else: ``BINANCE_WS_URL``, ``BINANCE_FUTURES_WS_URL``, ``NATS_URL``,
``DATA_MANAGER_URL`` (and ``BINANCE_API_URL`` / ``BINANCE_FUTURES_API_URL``, read by the
REST client for order-book snapshots).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from petrosa.contracts.market import DEFAULT_SYMBOLS, Market
from petrosa.exchange.binance.streams import MAX_STREAMS_PER_CONNECTION

DEFAULT_SPOT_WS_URL = "wss://stream.binance.com:9443"
DEFAULT_FUTURES_WS_URL = "wss://fstream.binance.com"
DEFAULT_PORT = 8040
DEFAULT_STREAMS_PER_CONNECTION = 200
"""Well under Binance's 1,024: every name goes into the URL (no control messages needed),
and 200 names keep the request line within common servers' 8 KiB."""
DEFAULT_CONFIG_KEY = "socketclient.streams"


def _split(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class SocketClientSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOCKET_CLIENT_", extra="ignore", populate_by_name=True
    )

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    markets: Annotated[tuple[Market, ...], NoDecode] = (Market.FUTURES,)
    symbols: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SYMBOLS
    """Uppercase, as petrosa spells symbols; a lowercase one is refused, not corrected."""
    streams: Annotated[tuple[str, ...] | None, NoDecode] = None
    """Stream types (``kline_1m,aggTrade,depth``…); None: each market's default set."""
    books: bool = True
    """Maintain a local order book per symbol from the diff-depth stream (needs ``depth``)."""
    book_levels: int = Field(default=20, ge=1, le=1_000)
    book_publishes_per_s: float = Field(default=10.0, gt=0, le=100)
    """Per symbol; between two publishes the latest book wins."""
    book_snapshot_limit: int | None = None
    """Levels asked for in the REST snapshot; None: 1,000 (futures) or 5,000 (spot)."""

    spot_ws_url: str = Field(
        default=DEFAULT_SPOT_WS_URL, validation_alias=AliasChoices("BINANCE_WS_URL")
    )
    futures_ws_url: str = Field(
        default=DEFAULT_FUTURES_WS_URL, validation_alias=AliasChoices("BINANCE_FUTURES_WS_URL")
    )
    nats_url: str = Field(
        default="nats://127.0.0.1:4222", validation_alias=AliasChoices("NATS_URL")
    )
    data_manager_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATA_MANAGER_URL")
    )

    max_streams_per_connection: int = Field(
        default=DEFAULT_STREAMS_PER_CONNECTION, ge=1, le=MAX_STREAMS_PER_CONNECTION
    )
    queue_size: int = Field(default=20_000, ge=1)
    """Frames one connection may hold while NATS is slow or down; beyond, dropped and counted."""
    event_quiet_s: float = Field(default=60.0, gt=0)
    """Silence after which an event stream (aggTrade, trade, bookTicker) counts as stalled."""
    rotate_after_s: float = Field(default=23 * 3600.0, gt=0)
    """Connection age at which it is replaced (Binance cuts at 24 h)."""
    rotate_jitter_s: float = Field(default=600.0, ge=0)
    connection_attempts_per_5_min: int = Field(default=300, ge=1)
    """This replica's share of Binance's 300 new connections per 5 minutes per IP."""
    backoff_max_s: float = Field(default=60.0, gt=0)
    data_reset_s: float = Field(default=60.0, gt=0)
    """A connection that delivered data this long resets the backoff."""
    config_key: str = DEFAULT_CONFIG_KEY
    config_poll_s: float = Field(default=30.0, ge=0)
    """How often the Data Manager document is read (0: never; needs DATA_MANAGER_URL)."""
    jetstream_window: int = Field(default=2_000, ge=1)
    """JetStream publishes awaiting their ack at once; the publisher waits beyond."""
    liveness_max_beat_age_s: float = Field(default=15.0, gt=0)

    @field_validator("markets", "symbols", "streams", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    def ws_url(self, market: Market) -> str:
        return self.spot_ws_url if market is Market.SPOT else self.futures_ws_url
