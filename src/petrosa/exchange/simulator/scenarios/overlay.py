"""The scenarios of one (market, symbol), as the market's hooks ask for them
(``simulator.overlay.MarketOverlay``): each hook applies the scenarios whose window holds
the moment asked about, in the order they were started."""

from __future__ import annotations

from collections.abc import Sequence

from petrosa.exchange.simulator.bars import Bars
from petrosa.exchange.simulator.book import STEP_MS
from petrosa.exchange.simulator.book_levels import Book
from petrosa.exchange.simulator.market import Level, SyntheticMarket
from petrosa.exchange.simulator.premium import PremiumIndex
from petrosa.exchange.simulator.scenarios.base import Scenario
from petrosa.exchange.simulator.scenarios.candles import edit_nodes
from petrosa.exchange.simulator.trades import AggTrades


class ScenarioOverlay:
    """Every scenario ever started on one market (finished ones still shape the past)."""

    def __init__(self) -> None:
        self._scenarios: tuple[Scenario, ...] = ()
        self._version = 0

    @property
    def version(self) -> int:
        return self._version

    @property
    def scenarios(self) -> Sequence[Scenario]:
        return self._scenarios

    def replace_all(self, scenarios: Sequence[Scenario]) -> None:
        """Use ``scenarios`` from now on (caches keyed by ``version`` start over)."""
        self._scenarios = tuple(scenarios)
        self._version += 1

    # -- MarketOverlay --------------------------------------------------------------------

    def edits_trades(self, first_ms: int, stop_ms: int) -> bool:
        return any(s.edits_trades and s.window.overlaps(first_ms, stop_ms) for s in self._scenarios)

    def edit_trades(self, trades: AggTrades) -> AggTrades:
        if len(trades) == 0:
            return trades
        first, stop = int(trades.time[0]), int(trades.time[-1]) + 1
        for scenario in self._scenarios:
            if scenario.edits_trades and scenario.window.overlaps(first, stop):
                trades = scenario.edit_trades(trades)
        return trades

    def edit_nodes(self, market: SyntheticMarket, level: Level, nodes: Bars) -> Bars:
        return edit_nodes(market, level, nodes, self.edits_trades)

    def edit_book(self, book: Book) -> Book:
        at = book.step * STEP_MS
        for scenario in self._scenarios:
            if scenario.window.covers(at):
                book = scenario.edit_book(book)
        return book

    def edit_premium(self, index: PremiumIndex, now_ms: int) -> PremiumIndex:
        for scenario in self._scenarios:
            if scenario.window.covers(now_ms):
                index = scenario.edit_premium(index, now_ms)
        return index
