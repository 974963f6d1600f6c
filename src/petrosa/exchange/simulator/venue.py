"""The simulated exchange as a whole: listed instruments, one synthetic market (and order
book) per symbol and market kind, the clock, and each market's request budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from petrosa.exchange.simulator import errors
from petrosa.exchange.simulator.book import BookModel
from petrosa.exchange.simulator.clock import Clock
from petrosa.exchange.simulator.instruments import Instrument, MarketKind, instrument_for
from petrosa.exchange.simulator.market import SyntheticMarket
from petrosa.exchange.simulator.settings import SimulatorSettings
from petrosa.exchange.simulator.weights import (
    FUNDING_LIMITER,
    FUNDING_WINDOW_MS,
    BanPolicy,
    MarketBudget,
)

_MS_PER_S = 1_000
DAY_MS = 86_400_000


@dataclass(frozen=True)
class MarketProfile:
    """What differs between the spot and futures APIs besides weights."""

    kind: MarketKind
    prefix: str
    max_kline_limit: int
    pad_decimals: int
    """Decimals every number is padded to (spot: 8; futures: none, contract precision)."""
    best_match_flag: bool
    """Spot aggregate trades carry ``M``."""
    rejects_reversed_range: bool
    """Futures answer -1023 when startTime > endTime; spot answers an empty list."""
    default_kline_limit: int = 500
    default_trade_limit: int = 500
    max_trade_limit: int = 1_000


SPOT = MarketProfile(
    MarketKind.SPOT,
    "/api/v3",
    max_kline_limit=1_000,
    pad_decimals=8,
    best_match_flag=True,
    rejects_reversed_range=False,
)
FUTURES = MarketProfile(
    MarketKind.FUTURES,
    "/fapi/v1",
    max_kline_limit=1_500,
    pad_decimals=0,
    best_match_flag=False,
    rejects_reversed_range=True,
)

PROFILES: dict[MarketKind, MarketProfile] = {MarketKind.SPOT: SPOT, MarketKind.FUTURES: FUTURES}


class Venue:
    """Everything the routes need, built once from the settings."""

    def __init__(self, settings: SimulatorSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.listing_ms = -(-settings.history_start_ms // DAY_MS) * DAY_MS
        """Every symbol's listing: ``history_start`` rounded up to a whole UTC day."""
        self.instruments: dict[str, Instrument] = {s: instrument_for(s) for s in settings.symbols}
        self._markets: dict[tuple[MarketKind, str], SyntheticMarket] = {}
        self._books: dict[tuple[MarketKind, str], BookModel] = {}
        policy = BanPolicy(
            tolerance=settings.ban_tolerance,
            first_ban_ms=settings.ban_s * _MS_PER_S,
            max_ban_ms=settings.max_ban_s * _MS_PER_S,
        )
        self.budgets = {
            MarketKind.SPOT: MarketBudget(
                MarketKind.SPOT, settings.spot_weight_limit, clock=clock, policy=policy
            ),
            MarketKind.FUTURES: MarketBudget(
                MarketKind.FUTURES,
                settings.futures_weight_limit,
                clock=clock,
                policy=policy,
                extra_limits={FUNDING_LIMITER: (settings.funding_rate_requests, FUNDING_WINDOW_MS)},
            ),
        }
        self._reset_actions: list[Callable[[], None]] = []

    def now_ms(self) -> int:
        """The exchange's current time."""
        return self.clock.now_ms()

    def instrument(self, symbol: str) -> Instrument:
        """A listed instrument; -1121 for any other symbol."""
        found = self.instruments.get(symbol)
        if found is None:
            raise errors.invalid_symbol()
        return found

    def market(self, kind: MarketKind, symbol: str) -> SyntheticMarket:
        """The synthetic market of a listed symbol; -1121 for any other."""
        key = (kind, symbol)
        market = self._markets.get(key)
        if market is None:
            market = SyntheticMarket(
                self.instrument(symbol), kind, seed=self.settings.seed, listing_ms=self.listing_ms
            )
            self._markets[key] = market
        return market

    def book(self, kind: MarketKind, symbol: str) -> BookModel:
        """The order book of a listed symbol; -1121 for any other."""
        key = (kind, symbol)
        book = self._books.get(key)
        if book is None:
            market = self.market(kind, symbol)
            book = BookModel(market, pad_decimals=PROFILES[kind].pad_decimals)
            self._books[key] = book
        return book

    def on_reset(self, action: Callable[[], None]) -> None:
        """Run ``action`` on every ``reset`` too (e.g. to reopen the paper account)."""
        self._reset_actions.append(action)

    def reset(self) -> None:
        """Forget every budget's usage, bans and counters, and reset what asked to be."""
        for budget in self.budgets.values():
            budget.reset()
        for action in self._reset_actions:
            action()


def venue_of(request: Request) -> Venue:
    """The venue serving ``request``'s app."""
    venue: Venue = request.app.state.venue
    return venue
