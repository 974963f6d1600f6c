"""The simulated listings: what each symbol trades like on the spot and futures markets.

Well-known symbols get realistic prices, tick and lot sizes; any other configured symbol
gets a base price and sizes derived deterministically from its name, so a user may list
``FOOUSDT`` and get a plausible market for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from petrosa.exchange.simulator.noise import stream_key, uniform


class MarketKind(StrEnum):
    """The two simulated markets: spot (``/api/v3``) and USD-M futures (``/fapi/v1``)."""

    SPOT = "spot"
    FUTURES = "futures"


@dataclass(frozen=True)
class Contract:
    """How one symbol trades on one market: sizes in powers of ten, and how busy it is."""

    price_decimals: int
    """The tick size is ``10 ** -price_decimals``."""
    qty_decimals: int
    """The lot (step) size is ``10 ** -qty_decimals``."""
    daily_agg_trades: int
    """Typical number of aggregate trades per day."""
    trade_notional: float
    """Typical value of one individual trade, in the quote asset."""
    min_notional: str
    """Smallest order value accepted (``MIN_NOTIONAL`` / ``NOTIONAL`` filter)."""

    @property
    def quote_decimals(self) -> int:
        """Quote volumes are sums of price x quantity: exact with these many decimals."""
        return self.price_decimals + self.qty_decimals


@dataclass(frozen=True)
class Instrument:
    """A listed symbol and the parameters of its synthetic price path."""

    symbol: str
    base_asset: str
    quote_asset: str
    base_price: float
    """Level around which the price wanders (quote asset per base asset)."""
    daily_volatility: float
    """Typical relative size of a day's move."""
    spot: Contract
    futures: Contract

    def contract(self, market: MarketKind) -> Contract:
        """The instrument's rules on ``market``."""
        return self.spot if market is MarketKind.SPOT else self.futures


QUOTE_ASSETS: tuple[str, ...] = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB")
"""Quote assets recognised at the end of a symbol, longest match first after sorting."""

_RETAIL_NOTIONAL = 300.0
_BLUE_CHIP_NOTIONAL = 800.0
_SPOT_MIN_NOTIONAL = "5.00000000"
_FUTURES_MIN_NOTIONAL = "5"
_FUTURES_BTC_MIN_NOTIONAL = "100"
_FUTURES_ACTIVITY = 1.5
"""Futures markets trade more often than spot ones."""


def _pair(
    spot: tuple[int, int],
    futures: tuple[int, int],
    daily_aggs: int,
    notional: float,
    futures_min_notional: str = _FUTURES_MIN_NOTIONAL,
) -> tuple[Contract, Contract]:
    return (
        Contract(spot[0], spot[1], daily_aggs, notional, _SPOT_MIN_NOTIONAL),
        Contract(
            futures[0],
            futures[1],
            int(daily_aggs * _FUTURES_ACTIVITY),
            notional,
            futures_min_notional,
        ),
    )


def _known(
    symbol: str,
    base: str,
    price: float,
    volatility: float,
    spot: tuple[int, int],
    futures: tuple[int, int],
    daily_aggs: int,
    notional: float = _RETAIL_NOTIONAL,
    futures_min_notional: str = _FUTURES_MIN_NOTIONAL,
) -> Instrument:
    spot_rules, futures_rules = _pair(spot, futures, daily_aggs, notional, futures_min_notional)
    return Instrument(symbol, base, "USDT", price, volatility, spot_rules, futures_rules)


KNOWN_INSTRUMENTS: dict[str, Instrument] = {
    item.symbol: item
    for item in (
        _known(
            "BTCUSDT",
            "BTC",
            60_000.0,
            0.030,
            (2, 5),
            (1, 3),
            400_000,
            _BLUE_CHIP_NOTIONAL,
            _FUTURES_BTC_MIN_NOTIONAL,
        ),
        _known("ETHUSDT", "ETH", 3_000.0, 0.040, (2, 4), (2, 3), 300_000, _BLUE_CHIP_NOTIONAL),
        _known("BNBUSDT", "BNB", 500.0, 0.035, (2, 3), (2, 2), 120_000),
        _known("ADAUSDT", "ADA", 0.45, 0.050, (4, 1), (4, 0), 90_000),
        _known("DOTUSDT", "DOT", 6.5, 0.050, (3, 2), (3, 1), 60_000),
        _known("LINKUSDT", "LINK", 15.0, 0.050, (2, 2), (3, 2), 70_000),
        _known("LTCUSDT", "LTC", 80.0, 0.045, (2, 3), (2, 3), 60_000),
        _known("BCHUSDT", "BCH", 350.0, 0.045, (1, 3), (2, 3), 50_000),
        _known("XLMUSDT", "XLM", 0.11, 0.045, (5, 0), (5, 0), 40_000),
        _known("XRPUSDT", "XRP", 0.5, 0.045, (4, 0), (4, 1), 150_000),
    )
}

_DERIVED_PRICE_DECADES = (-1.0, 2.5)
"""Derived base prices lie between 10**-1 and 10**2.5 quote units."""
_SIGNIFICANT_PRICE_DIGITS = 5
_LOT_VALUE = 0.005
"""Derived lot sizes are worth about this much of the quote asset."""
_MAX_DECIMALS = 8
_DERIVED_VOLATILITY = 0.05
_DERIVED_DAILY_AGGS = 30_000


def split_symbol(symbol: str) -> tuple[str, str]:
    """(base asset, quote asset) of a symbol such as ``FOOUSDT``; quote "USDT" if unknown."""
    for quote in sorted(QUOTE_ASSETS, key=len, reverse=True):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, "USDT"


def derived_instrument(symbol: str) -> Instrument:
    """A plausible instrument for a symbol the catalogue does not know (same for any seed)."""
    base, quote = split_symbol(symbol)
    draw = float(uniform(stream_key(0, "instrument", symbol), [0])[0])
    low, high = _DERIVED_PRICE_DECADES
    price = 10.0 ** (low + (high - low) * draw)
    magnitude = math.floor(math.log10(price))
    price_decimals = min(_MAX_DECIMALS, max(0, _SIGNIFICANT_PRICE_DIGITS - 1 - magnitude))
    qty_decimals = min(
        _MAX_DECIMALS - price_decimals, max(0, math.ceil(math.log10(price / _LOT_VALUE)))
    )
    sizes = (price_decimals, qty_decimals)
    spot, futures = _pair(sizes, sizes, _DERIVED_DAILY_AGGS, _RETAIL_NOTIONAL)
    return Instrument(symbol, base, quote, price, _DERIVED_VOLATILITY, spot, futures)


def instrument_for(symbol: str) -> Instrument:
    """The catalogue's instrument for ``symbol``, else a derived one."""
    known = KNOWN_INSTRUMENTS.get(symbol)
    return known if known is not None else derived_instrument(symbol)
