"""The typed market events the realtime strategies see, one per kind of input.

Every event names its market and symbol (taken from the NATS subject, never from the
payload) and carries ``time_ms``, the exchange time the strategies run on: ``E`` for books,
mark prices and tickers, the trade time ``T`` for aggregate trades, the socket client's
receive time for a spot partial book (which carries no time). Prices and quantities are
floats (market data, ARCHITECTURE.md); books keep Binance's best-first order.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from petrosa.contracts import Market


class Feed(StrEnum):
    """An input of the engine; each has its own staleness limit and warm-up clock."""

    DEPTH = "depth"
    """``book`` (the socket client's maintained book) or a partial depth stream."""
    TRADES = "aggTrade"
    MARK = "markPrice"
    TICKER = "ticker"
    """The spot 24 h ticker, read only for its last price ``c``."""
    CANDLES = "kline_1m"


class BookSource(StrEnum):
    BOOK = "book"
    PARTIAL_DEPTH = "depth"


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """The top of a book at one moment, best level first on each side."""

    market: Market
    symbol: str
    time_ms: int
    bid_prices: tuple[float, ...]
    bid_qtys: tuple[float, ...]
    ask_prices: tuple[float, ...]
    ask_qtys: tuple[float, ...]
    update_id: int | None = None
    source: BookSource = BookSource.PARTIAL_DEPTH

    feed = Feed.DEPTH

    @property
    def complete(self) -> bool:
        """Both sides have a level: only then are mid and spread defined."""
        return bool(self.bid_prices) and bool(self.ask_prices)

    @property
    def crossed(self) -> bool:
        """Best bid at or above best ask: a broken book, never a market state."""
        return self.complete and self.bid_prices[0] >= self.ask_prices[0]

    @property
    def mid(self) -> float:
        return (self.bid_prices[0] + self.ask_prices[0]) / 2

    @property
    def spread(self) -> float:
        return self.ask_prices[0] - self.bid_prices[0]

    @property
    def spread_bps(self) -> float:
        return self.spread / self.mid * 1e4


@dataclass(frozen=True, slots=True)
class AggTrade:
    """One aggregate trade; ``buyer_maker`` true means the aggressor sold."""

    market: Market
    symbol: str
    time_ms: int
    trade_id: int
    price: float
    qty: float
    buyer_maker: bool

    feed = Feed.TRADES

    @property
    def notional(self) -> float:
        return self.price * self.qty


@dataclass(frozen=True, slots=True)
class MarkPrice:
    """A USD-M ``markPriceUpdate``: mark and index price, funding rate and next funding."""

    market: Market
    symbol: str
    time_ms: int
    mark_price: float
    index_price: float
    funding_rate: float
    next_funding_ms: int

    feed = Feed.MARK


@dataclass(frozen=True, slots=True)
class TickerPrice:
    """The last price ``c`` of the spot 24 h ticker (its ``P`` is a 24 h change, unused)."""

    market: Market
    symbol: str
    time_ms: int
    price: float

    feed = Feed.TICKER


@dataclass(frozen=True, slots=True)
class Candle:
    """A closed 1-minute candle, the risk unit's input (ATR14)."""

    market: Market
    symbol: str
    time_ms: int
    open_time: int
    high: float
    low: float
    close: float

    feed = Feed.CANDLES


MarketEvent = BookSnapshot | AggTrade | MarkPrice | TickerPrice | Candle
