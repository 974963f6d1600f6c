"""The price levels of a synthetic order book at one step, as integer ticks and lots.

A level's existence and size are pure functions of (seed, market, symbol, side, price, step),
so any step is computed directly and two steps share every level nothing touched:

* **Top.** The best bid sits 0 to ``spread`` ticks under the last trade at the step's start,
  the best ask ``spread`` ticks above the best bid (``spread`` is 1, 2 or 3 ticks, drawn per
  step): the last price always lies between them.
* **Near the top** (``DENSE_TICKS`` ticks from the best price) most ticks hold a level: each
  tick is filled or not by a fixed draw of its own, the best one always.
* **Deeper**, the tick line is cut into blocks of ``gap`` ticks with one level per block, at
  a fixed offset of its own, down to ``BOOK_LEVELS`` levels per side. ``gap`` grows with the
  instrument's volatility in ticks, so a typical step's price move enters or leaves only a
  handful of levels (a 0.01-tick BTC book spans about $500 a side; ADA fills every tick).
* **Sizes.** Each price keeps its quantity for a period of its own (3 s to 5 min, fixed per
  price, with a fixed phase), then draws a new one: per step fewer than one level in a hundred
  re-sizes. A price that leaves the book and comes back within a period comes back the same.

Sizes depend on the price level only, never on its distance from the top: a moving price
only adds and removes levels at the edges, as on a real book.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from petrosa.exchange.simulator.bars import Ints
from petrosa.exchange.simulator.market import MINUTE_MS, Level, SyntheticMarket
from petrosa.exchange.simulator.noise import hash64, normal, stream_key, uniform

BOOK_LEVELS = 1_000
"""Levels per side: the whole book (a REST snapshot of 1,000 levels or more is all of it)."""
DENSE_TICKS = 8
"""Ticks next to the best price, per side, where most ticks hold a level."""
DENSE_FILL = 0.75
"""Share of the ticks near the top that hold a level (the best one always does)."""
GAP_VOLATILITY = 0.0003
"""Block width deeper in the book, in daily volatilities of the instrument's base price:
about a fifth of a typical step's move, so a move shifts a handful of levels per side."""
SPREAD_WEIGHTS = (0.7, 0.2, 0.1)
"""Chances of a 1, 2 or 3-tick spread at a step."""
SIZE_PERIODS = np.rint(np.geomspace(30, 3_000, 64)).astype(np.int64)
"""Steps a level keeps its quantity, one of these per price (3 s to 5 min)."""
LAYOUTS_CACHED = 64
"""Recent best prices whose level layout is kept, per side."""
LEVEL_NOTIONAL = 4.0
"""Typical level size, in the instrument's typical trade value."""
SIZE_SPREAD = 1.0
"""Log-normal spread of level sizes."""

_FILL_BITS = 16
_PERIOD_MASK = np.uint64(len(SIZE_PERIODS) - 1)
_PHASE_SHIFT = np.uint64(8)
_PHASE_MASK = np.uint64(2**32 - 1)
_ID_SHIFT = np.uint64(2)
_SIZE_BITS = 14
_SIZE_SHIFT = np.uint64(64 - _SIZE_BITS)
_SIZE_FACTORS = np.exp(
    SIZE_SPREAD * normal(stream_key(0, "book", "sizes"), np.arange(2**_SIZE_BITS))
)
"""2**14 log-normal size factors, fixed: a size draw is one lookup in them."""


class Side(IntEnum):
    """Which side of the book: bids go down from the top, asks up."""

    BID = -1
    ASK = 1


@dataclass(frozen=True)
class Levels:
    """One side of the book: prices (ticks) best first, and their quantities (lots)."""

    price: Ints
    qty: Ints

    def ascending(self) -> tuple[Ints, Ints]:
        """(prices, quantities) from the lowest price up."""
        if len(self.price) > 1 and self.price[0] > self.price[-1]:
            return self.price[::-1], self.qty[::-1]
        return self.price, self.qty


@dataclass(frozen=True)
class Book:
    """Both sides at one step."""

    step: int
    bids: Levels
    asks: Levels

    def side(self, side: Side) -> Levels:
        return self.bids if side is Side.BID else self.asks


@dataclass(frozen=True)
class _Layout:
    """The prices of one side for one best price, and what their sizes are drawn from."""

    price: Ints
    period: Ints
    phase: Ints
    identity: Ints


class LevelSource:
    """Draws the levels of one market's book; every answer depends on the step alone."""

    def __init__(self, market: SyntheticMarket, *, step_ms: int, levels: int = BOOK_LEVELS):
        # prices imports the trading modules, which import the venue, which imports this
        from petrosa.exchange.simulator.prices import last_price

        self._last_price = last_price
        self.market = market
        self.step_ms = step_ms
        self.levels = levels
        instrument = market.instrument
        daily_ticks = instrument.daily_volatility * instrument.base_price / market.tick
        self.gap = max(1, round(GAP_VOLATILITY * daily_ticks))
        self.fill = max(DENSE_FILL, 1.0 / self.gap)
        self.first_ms = market.first_index(Level.MINUTE) * MINUTE_MS
        lot_value = instrument.base_price * market.lot
        self.size_scale = LEVEL_NOTIONAL * market.contract.trade_notional / lot_value
        self._spread_key = market.stream("book:spread")
        self._keys = {
            side: {
                part: market.stream(f"book:{side.name.lower()}:{part}")
                for part in ("fill", "block", "level", "size")
            }
            for side in Side
        }
        weights = np.cumsum(SPREAD_WEIGHTS)
        self._spread_edges = weights / weights[-1]
        self._layouts: OrderedDict[tuple[Side, int], _Layout] = OrderedDict()

    def book(self, step: int) -> Book:
        """Both sides of the book in force during ``step``."""
        bid_top, ask_top = self.tops(step)
        return Book(step, self._side(Side.BID, bid_top, step), self._side(Side.ASK, ask_top, step))

    def tops(self, step: int) -> tuple[int, int]:
        """(best bid, best ask) in ticks: around the last trade at the step's first ms."""
        last = self.last_ticks(step * self.step_ms)
        draws = uniform(self._spread_key, [2 * step, 2 * step + 1])
        spread = 1 + int(np.searchsorted(self._spread_edges, draws[0], side="right"))
        below = min(spread, int(draws[1] * (spread + 1)))
        bid = max(1, last - below)
        return bid, bid + spread

    def last_ticks(self, time_ms: int) -> int:
        """The last trade's price (ticks) at or before ``time_ms`` (the listing's open before
        it)."""
        price = self._last_price(self.market, max(time_ms, self.first_ms))
        return int(price.scaleb(self.market.contract.price_decimals))

    def _side(self, side: Side, top: int, step: int) -> Levels:
        layout = self._layout(side, top)
        epoch = (step + layout.phase) // layout.period
        draw = hash64(self._keys[side]["size"], layout.identity + epoch) >> _SIZE_SHIFT
        lots: Ints = np.rint(self.size_scale * _SIZE_FACTORS[draw.astype(np.intp)]).astype(np.int64)
        return Levels(layout.price, np.maximum(lots, 1, out=lots))

    def _layout(self, side: Side, top: int) -> _Layout:
        """Where one side's levels are with its best price at ``top``, cached: the price
        often stays put from one step to the next, and then only sizes are drawn again."""
        key = (side, top)
        layout = self._layouts.get(key)
        if layout is None:
            layout = self._layouts[key] = self._draw_layout(side, top)
            if len(self._layouts) > LAYOUTS_CACHED:
                self._layouts.popitem(last=False)
        return layout

    def _draw_layout(self, side: Side, top: int) -> _Layout:
        keys = self._keys[side]
        direction = int(side)
        near = top + direction * np.arange(DENSE_TICKS, dtype=np.int64)
        filled = (hash64(keys["fill"], near) >> np.uint64(64 - _FILL_BITS)) < round(
            self.fill * (1 << _FILL_BITS)
        )
        filled[0] = True
        near = near[filled & (near > 0)]
        edge = top + direction * (DENSE_TICKS - 1)
        wanted = self.levels - len(near)
        first_block = (edge + direction) // self.gap
        blocks = first_block + direction * np.arange(wanted + 1, dtype=np.int64)
        offsets = (hash64(keys["block"], blocks) % np.uint64(self.gap)).astype(np.int64)
        deep = blocks * self.gap + offsets
        beyond = deep < edge if side is Side.BID else deep > edge
        deep = deep[beyond & (deep > 0)][:wanted]
        price = np.concatenate([near, deep])
        # each price's own size period, phase and identity (for its size draws)
        level = hash64(keys["level"], price)
        period = SIZE_PERIODS[(level & _PERIOD_MASK).astype(np.intp)]
        phase = ((level >> _PHASE_SHIFT) & _PHASE_MASK).astype(np.int64) % period
        return _Layout(price, period, phase, (level >> _ID_SHIFT).astype(np.int64))
