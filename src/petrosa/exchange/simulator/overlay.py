"""What a scripted scenario may change in a market, as the market's own modules see it.

The synthetic market, its trades, its order book and its premium index each ask the
market's ``overlay`` (``SyntheticMarket.overlay``, None on a quiet market) to edit what they
computed, at one hook each. The edits are pure functions of time, so every reader (REST,
streams, caches rebuilt after a restart) sees the same market; ``version`` changes when a
scenario starts or ends so caches of computed data know to start over. The implementation
is ``scenarios.overlay``; this protocol lets the market modules call it without importing
the scenarios (which import them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from petrosa.exchange.simulator.bars import Bars
    from petrosa.exchange.simulator.book_levels import Book
    from petrosa.exchange.simulator.market import Level, SyntheticMarket
    from petrosa.exchange.simulator.premium import PremiumIndex
    from petrosa.exchange.simulator.trades import AggTrades


class MarketOverlay(Protocol):
    """The scenarios of one (market, symbol)."""

    @property
    def version(self) -> int:
        """Changes with every scenario started or ended on the market."""
        ...

    def edits_trades(self, first_ms: int, stop_ms: int) -> bool:
        """Whether a trade with time in [first_ms, stop_ms) may be edited."""
        ...

    def edit_trades(self, trades: AggTrades) -> AggTrades:
        """A minute's trades as the scenarios make them (same ids, times and counts)."""
        ...

    def edit_nodes(self, market: SyntheticMarket, level: Level, nodes: Bars) -> Bars:
        """Candles of ``level`` with the edited trades aggregated into them."""
        ...

    def edit_book(self, book: Book) -> Book:
        """The book at one step as the scenarios make it."""
        ...

    def edit_premium(self, index: PremiumIndex, now_ms: int) -> PremiumIndex:
        """The premium index at ``now_ms`` as the scenarios make it."""
        ...
