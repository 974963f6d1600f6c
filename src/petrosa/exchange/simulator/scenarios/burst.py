"""A burst of aggressive buys: for ``duration_s`` nearly every trade is a taker buy
(``m`` false), bigger than usual, while the price climbs ``rise_bps`` over ``ramp_s`` and
holds; then, for ``fade_s``, the price drifts back to the quiet market's path.

Only existing trades are edited (side, quantity, price), never added or removed: ids, times
and trade counts stay the tree's, so ids chain across the burst and every page of
``/aggTrades`` still meets the next. Candles of the minutes touched are summed from the
edited trades (``candles``), and the book follows the last trade as always, so klines,
depth and the mark price move with the burst.

Against ``trade_momentum`` (STRATEGIES.md 4.5): a 30 s window inside the burst has F about
0.9, Q = 1 and P = 1 (the climb is > 0.2 %), so S is about 0.97 (trigger 0.7), and its
notional is about ``qty_factor`` times a quiet window's (trigger 1.5x). It needs >= 50
trades per 30 s, which only busy symbols have (BTCUSDT ~140, ETHUSDT ~100 on spot). Against
``ticker_velocity`` (4.6): +0.8 % in 20 s (trigger 0.5 % in 60 s); the fade, 0.16 % a
minute, stays under its trigger.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from petrosa.exchange.simulator.bars import Ints
from petrosa.exchange.simulator.market import SyntheticMarket
from petrosa.exchange.simulator.noise import uniform
from petrosa.exchange.simulator.scenarios.base import Scenario
from petrosa.exchange.simulator.scenarios.book_scenarios import BPS, StrictParams
from petrosa.exchange.simulator.trades import AggTrades


class BurstParams(StrictParams):
    rise_bps: float = Field(default=80.0, gt=0, le=2_000)
    ramp_s: float = Field(default=20.0, gt=0, le=3_600)
    """Time the climb takes (within the buying)."""
    fade_s: float = Field(default=300.0, ge=0, le=3_600)
    """Time the price takes to drift back after the buying."""
    qty_factor: float = Field(default=4.0, ge=1, le=1_000)
    """Taker buys are this many times their quiet size."""
    sell_share: float = Field(default=0.1, ge=0, lt=0.5)
    """Share of trades left to taker sells during the buying."""


@dataclass(frozen=True, kw_only=True)
class BuyBurst(Scenario):
    """Aggressive buying pushing the price up, then a slow return."""

    settings: BurstParams
    buying_ms: int
    """Length of the buying phase (the request's ``duration_s``)."""
    side_key: int
    edits_trades: ClassVar[bool] = True

    @classmethod
    def prepare(
        cls, market: SyntheticMarket, start_ms: int, settings: BurstParams
    ) -> dict[str, Any]:
        return {"settings": settings, "side_key": market.stream(f"scenario:burst:{start_ms}")}

    def lift(self, time: Ints) -> NDArray[np.float64]:
        """Relative price change at each time (0 outside the burst and its fade)."""
        start = self.window.start_ms
        ramp_ms = min(self.settings.ramp_s * 1_000, self.buying_ms)
        fade_ms = self.settings.fade_s * 1_000
        elapsed = (time - start).astype(np.float64)
        climb = np.clip(elapsed / ramp_ms, 0.0, 1.0)
        after = elapsed - self.buying_ms
        fade = np.clip(1.0 - after / fade_ms, 0.0, 1.0) if fade_ms > 0 else (after < 0) * 1.0
        inside = (time >= start) & (time < self.window.end_ms)
        return np.where(inside, self.settings.rise_bps * BPS * climb * fade, 0.0)

    def edit_trades(self, trades: AggTrades) -> AggTrades:
        time = trades.time
        lift = self.lift(time)
        price = np.maximum(1, np.rint(trades.price * (1.0 + lift))).astype(np.int64)
        start = self.window.start_ms
        buying = (time >= start) & (time < min(start + self.buying_ms, self.window.end_ms))
        stays_sell = uniform(self.side_key, trades.id) < self.settings.sell_share
        taker_buy = buying & ~stays_sell
        qty = np.where(
            taker_buy, np.rint(trades.qty * self.settings.qty_factor).astype(np.int64), trades.qty
        )
        maker = np.where(buying, ~taker_buy, trades.buyer_maker)
        return replace(trades, price=price, qty=qty, buyer_maker=maker)

    def params(self) -> dict[str, Any]:
        return {**self.settings.model_dump(), "buying_s": self.buying_ms / 1_000}


def burst_span_ms(duration_ms: int, settings: BurstParams) -> int:
    """The whole window: the buying and the fade."""
    return duration_ms + round(settings.fade_s * 1_000)
