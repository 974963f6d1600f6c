"""Exchange simulator configuration, read once from ``EXCHANGE_SIM_*`` environment variables
(the symbol list also from the platform-wide ``DEFAULT_SYMBOLS``)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from petrosa.contracts.market import DEFAULT_SYMBOLS, Market
from petrosa.exchange.binance.streams import (
    CONNECTION_LIFETIME_S,
    INCOMING_MESSAGES_PER_SECOND,
    MAX_STREAMS_PER_CONNECTION,
    PONG_TIMEOUT_S,
    SERVER_PING_INTERVAL_S,
    StreamKind,
)
from petrosa.exchange.simulator.scenarios import ScenarioRequest, parse_spec
from petrosa.exchange.simulator.ws.firehose import FIREHOSE_KINDS
from petrosa.webauth import DEFAULT_MAX_BODY_BYTES

DEFAULT_PORT = 8100
DEFAULT_SEED = 42
DEFAULT_HISTORY_START = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
SPOT_WEIGHT_LIMIT = 6_000
"""Binance spot ``REQUEST_WEIGHT`` per minute."""
FUTURES_WEIGHT_LIMIT = 2_400
"""Binance USD-M futures ``REQUEST_WEIGHT`` per minute."""
FUNDING_RATE_REQUESTS = 500
"""``/fapi/v1/fundingRate`` requests allowed per 5 minutes (its own limit)."""
BAN_TOLERANCE = 10
"""Requests tolerated after a 429 inside the same window before the IP is banned."""
MIN_BAN_S = 120
MAX_BAN_S = 3 * 86_400
"""Binance bans for 2 minutes, doubling for repeat offenders up to 3 days."""
PAPER_API_KEY = "paper-key"
PAPER_API_SECRET = "paper-secret"
"""The paper account's credentials unless configured (signed like Binance's, never real)."""
STARTING_BALANCE = Decimal(10_000)
"""USDT in the paper account's wallet at start-up and after ``/sim/reset``."""
TAKER_FEE_RATE = Decimal("0.0004")
"""Binance's regular USD-M futures taker fee, 0.04 % of the notional."""
DEFAULT_LEVERAGE = 10
MAX_LEVERAGE = 125
MAX_SLIPPAGE_BPS = 1_000
WS_TICK_MS = 20
"""How often a stream connection polls its feeds (real time, so a frozen or manually advanced
clock still delivers promptly after ``/sim/clock/advance``)."""
_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}$")


class SimulatorSettings(BaseSettings):
    """Everything the simulator can be told; see the field docs for the environment names."""

    model_config = SettingsConfigDict(
        env_prefix="EXCHANGE_SIM_", extra="ignore", populate_by_name=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65_535)
    seed: int = DEFAULT_SEED
    """Same seed, same market: candles, trades and funding are pure functions of it."""
    symbols: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_SYMBOLS,
        validation_alias=AliasChoices("EXCHANGE_SIM_SYMBOLS", "DEFAULT_SYMBOLS", "symbols"),
    )
    """Listed symbols, comma-separated; unknown names get a derived market."""
    clock_start: dt.datetime | None = None
    """Simulated time at start-up (ISO 8601, UTC if no offset); default the real time."""
    clock_frozen: bool = False
    """Keep the simulated time at ``clock_start`` instead of letting it run."""
    history_start: dt.datetime = DEFAULT_HISTORY_START
    """When every symbol was listed (rounded up to a whole UTC day): no candles, trades or
    funding before it."""
    spot_weight_limit: int = Field(default=SPOT_WEIGHT_LIMIT, ge=1)
    futures_weight_limit: int = Field(default=FUTURES_WEIGHT_LIMIT, ge=1)
    funding_rate_requests: int = Field(default=FUNDING_RATE_REQUESTS, ge=1)
    ban_tolerance: int = Field(default=BAN_TOLERANCE, ge=0)
    ban_s: int = Field(default=MIN_BAN_S, ge=1)
    """First ban's length; each further ban doubles it, up to ``max_ban_s``."""
    max_ban_s: int = Field(default=MAX_BAN_S, ge=1)
    api_key: str = Field(default=PAPER_API_KEY, min_length=1, max_length=128)
    """The paper account's API key, sent as ``X-MBX-APIKEY``."""
    api_secret: SecretStr = SecretStr(PAPER_API_SECRET)
    """The key's secret: signed requests carry the HMAC-SHA256 of their parameters with it."""
    starting_balance: Decimal = Field(default=STARTING_BALANCE, gt=0)
    """USDT wallet balance of the paper account when it opens (and after a reset)."""
    taker_fee_rate: Decimal = Field(default=TAKER_FEE_RATE, ge=0, lt=1)
    """Fee charged on every fill, as a share of its notional (0.0004 = 0.04 %)."""
    default_leverage: int = Field(default=DEFAULT_LEVERAGE, ge=1, le=MAX_LEVERAGE)
    """Leverage of every symbol until ``POST /fapi/v1/leverage`` changes it."""
    slippage_bps: Decimal = Field(default=Decimal(0), ge=0, le=MAX_SLIPPAGE_BPS)
    """Market fills this many basis points worse than the last trade (0: at the last trade)."""
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)
    """Largest request body (order parameters); bigger ones get 413."""

    ws_spot_messages_per_s: int = Field(default=INCOMING_MESSAGES_PER_SECOND[Market.SPOT], ge=1)
    """Control messages a spot stream client may send per second; one more closes it."""
    ws_futures_messages_per_s: int = Field(
        default=INCOMING_MESSAGES_PER_SECOND[Market.FUTURES], ge=1
    )
    ws_max_streams: int = Field(default=MAX_STREAMS_PER_CONNECTION, ge=1)
    """Streams one connection may subscribe to."""
    ws_ping_interval_s: float = Field(default=SERVER_PING_INTERVAL_S[Market.SPOT], gt=0)
    """Seconds between the server's pings. The ASGI server sends them, one setting for every
    connection: spot's 20 s by default (Binance pings futures every 180 s)."""
    ws_pong_timeout_s: float = Field(default=PONG_TIMEOUT_S[Market.SPOT], gt=0)
    """Seconds without the pong answering a ping before the connection is closed (spot's
    60 s by default; Binance allows futures clients 600 s)."""
    ws_max_lifetime_s: float = Field(default=CONNECTION_LIFETIME_S, gt=0)
    """A connection is closed (1001) this long after it opened: 24 h on Binance."""
    ws_tick_ms: int = Field(default=WS_TICK_MS, ge=1, le=1_000)
    ws_firehose_rate: int = Field(default=0, ge=0)
    """Firehose mode when positive: each subscribed firehose stream emits this many synthetic
    events per second (benchmarks), instead of the market's own."""
    ws_firehose_streams: Annotated[tuple[StreamKind, ...], NoDecode] = FIREHOSE_KINDS
    """Stream types the firehose feeds, comma-separated (aggTrade, trade, bookTicker)."""
    ws_compression: bool = False
    """Offer permessage-deflate to clients that ask (it costs the firehose most of its rate)."""
    scenarios: Annotated[tuple[ScenarioRequest, ...], NoDecode] = ()
    """Scenarios started with the server, ``name:SYMBOL[:market]`` comma-separated (each with
    its default length and parameters, from the first step after the clock's start)."""

    @field_validator("scenarios", mode="before")
    @classmethod
    def _parse_scenarios(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            return [parse_spec(v) if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _scenarios_listed(self) -> SimulatorSettings:
        for request in self.scenarios:
            if request.symbol not in self.symbols:
                wanted = f"{request.name.value}:{request.symbol}"
                raise ValueError(f"scenarios: {wanted} names a symbol not listed")
        return self

    @field_validator("ws_firehose_streams", mode="before")
    @classmethod
    def _split_stream_kinds(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("ws_firehose_streams")
    @classmethod
    def _check_firehose_kinds(cls, value: tuple[StreamKind, ...]) -> tuple[StreamKind, ...]:
        for kind in value:
            if kind not in FIREHOSE_KINDS:
                names = ", ".join(FIREHOSE_KINDS)
                raise ValueError(f"no firehose for {kind.value!r}: choose among {names}")
        return tuple(dict.fromkeys(value))

    @field_validator("symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip().upper() for part in value.split(",") if part.strip()]
        return value

    @field_validator("symbols")
    @classmethod
    def _check_symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one symbol must be listed")
        for symbol in value:
            if not _SYMBOL_RE.fullmatch(symbol):
                raise ValueError(f"{symbol!r} is not a symbol like BTCUSDT")
        return tuple(dict.fromkeys(value))

    @field_validator("clock_start", "history_start")
    @classmethod
    def _as_utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value

    @property
    def clock_start_ms(self) -> int | None:
        """``clock_start`` in epoch ms (None: the real time)."""
        return None if self.clock_start is None else _epoch_ms(self.clock_start)

    @property
    def history_start_ms(self) -> int:
        """``history_start`` in epoch ms."""
        return _epoch_ms(self.history_start)


def _epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1_000)
