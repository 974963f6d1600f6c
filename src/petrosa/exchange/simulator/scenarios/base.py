"""What every scenario is: a named, timed edit of one (market, symbol).

A scenario acts on a ``Window`` of simulated time, [start, end) in epoch ms aligned to the
book's 100 ms steps. Each kind overrides the hooks it needs (the book of a step, a minute's
trades, the premium index at a moment); the rest leave the market as it is. Every hook is a
pure function of the scenario's fields and of time, never of what was read before, so REST
and the streams agree at any moment and a restart replays the same market.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

from petrosa.exchange.simulator.book import STEP_MS
from petrosa.exchange.simulator.book_levels import Book
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.premium import PremiumIndex
from petrosa.exchange.simulator.scenarios.requests import ScenarioName
from petrosa.exchange.simulator.trades import AggTrades


@dataclass(frozen=True)
class Window:
    """Simulated time [start_ms, end_ms) a scenario acts on, on whole book steps."""

    start_ms: int
    end_ms: int

    def covers(self, time_ms: int) -> bool:
        return self.start_ms <= time_ms < self.end_ms

    def overlaps(self, first_ms: int, stop_ms: int) -> bool:
        """Whether [first_ms, stop_ms) shares a moment with the window."""
        return first_ms < self.end_ms and self.start_ms < stop_ms

    def covers_step(self, step: int) -> bool:
        """Whether the book step ``step`` (in force from ``step * STEP_MS``) is inside."""
        return self.covers(step * STEP_MS)


def step_ceil(time_ms: int) -> int:
    """The first book-step boundary at or after ``time_ms``."""
    return -(-time_ms // STEP_MS) * STEP_MS


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """One running (or scheduled, or finished) scenario on one market."""

    id: int
    name: ScenarioName
    kind: MarketKind
    symbol: str
    window: Window
    edits_trades: ClassVar[bool] = False
    """Whether ``edit_trades`` changes anything (then candles are rebuilt from trades)."""

    def edit_book(self, book: Book) -> Book:
        """The book at a step inside the window."""
        return book

    def edit_trades(self, trades: AggTrades) -> AggTrades:
        """A minute's trades (only those inside the window may change)."""
        return trades

    def edit_premium(self, index: PremiumIndex, now_ms: int) -> PremiumIndex:
        """The premium index at a moment inside the window."""
        return index

    def params(self) -> dict[str, Any]:
        """The scenario's own parameters, as its request gave (or defaulted) them."""
        return {}

    def ended_at(self, end_ms: int) -> Self:
        """The scenario cut short at ``end_ms`` (what it did before stays as it was)."""
        end = max(self.window.start_ms, min(self.window.end_ms, end_ms))
        return replace(self, window=Window(self.window.start_ms, end))

    def describe(self) -> dict[str, Any]:
        """The scenario as ``/sim/scenarios`` lists it."""
        return {
            "id": self.id,
            "name": self.name.value,
            "market": self.kind.value,
            "symbol": self.symbol,
            "start_ms": self.window.start_ms,
            "end_ms": self.window.end_ms,
            "params": self.params(),
        }
