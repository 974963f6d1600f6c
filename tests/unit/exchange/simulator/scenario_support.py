"""Helpers of the scenario tests: a venue with a board, and the figures the realtime
strategies compute from a book (STRATEGIES.md 4.2-4.4), on the model's ticks and lots."""

from __future__ import annotations

from typing import Any

import numpy as np

from petrosa.exchange.simulator import ManualClock
from petrosa.exchange.simulator.book import STEP_MS
from petrosa.exchange.simulator.book_levels import Book
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.scenarios import ScenarioRequest
from petrosa.exchange.simulator.scenarios.base import Scenario
from petrosa.exchange.simulator.scenarios.board import ScenarioBoard
from petrosa.exchange.simulator.venue import Venue
from tests.unit.exchange.simulator.feeds_support import make_venue

STEPS_PER_S = 1_000 // STEP_MS


def board_venue() -> tuple[Venue, ManualClock, ScenarioBoard]:
    venue, clock = make_venue()
    return venue, clock, ScenarioBoard(venue)


def start(board: ScenarioBoard, name: str, symbol: str = "BTCUSDT", **fields: Any) -> Scenario:
    return board.start(ScenarioRequest.model_validate({"name": name, "symbol": symbol, **fields}))


def book_at(venue: Venue, kind: MarketKind, symbol: str, step: int) -> Book:
    """The served (edited) book at ``step``."""
    return venue.book(kind, symbol)._book(step)


def mid(book: Book) -> float:
    return (int(book.bids.price[0]) + int(book.asks.price[0])) / 2


def spread_bps(book: Book) -> float:
    return (int(book.asks.price[0]) - int(book.bids.price[0])) / mid(book) * 1e4


def depth5(book: Book) -> int:
    return int(book.bids.qty[:5].sum() + book.asks.qty[:5].sum())


def imbalance(book: Book, levels: int = 10) -> float:
    bids = float((book.bids.price[:levels] * book.bids.qty[:levels]).sum())
    asks = float((book.asks.price[:levels] * book.asks.qty[:levels]).sum())
    return (bids - asks) / (bids + asks)


def qty_at(book: Book, price: int) -> int:
    found = np.flatnonzero(book.bids.price == price)
    return int(book.bids.qty[found[0]]) if found.size else 0


def second_samples(first_step: int, seconds: int) -> list[int]:
    """The last step of each second from ``first_step`` on (the strategies' samples)."""
    first_second = first_step // STEPS_PER_S
    return [(first_second + i + 1) * STEPS_PER_S - 1 for i in range(seconds)]
