"""The order-book scenarios: a bid iceberg refilling at one price, a spread blow-out and
recovery, a sustained imbalance. Each edits the book of every step in its window (the diff
stream is computed from the edited books, so its ids stay continuous and a client's book
still equals ``/depth``); trades and candles are left alone.

Sizes are read against ``realtime`` strategy defaults (STRATEGIES.md 4.2-4.4), each with
margin: an iceberg refill is q1 < 0.5 q0 then q2 > 0.8 q0 (here 0.2 and 1.0); a blow-out
needs ratio > 2.5, > 10 bps and a depth drop > 0.5 (here 30 bps, depth x 0.15); an
imbalance needs I >= 0.30 over the 10 best levels for 10 s (here at least 0.6).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from petrosa.exchange.simulator.book import STEP_MS
from petrosa.exchange.simulator.book_levels import LEVEL_NOTIONAL, Book, Side
from petrosa.exchange.simulator.market import SyntheticMarket
from petrosa.exchange.simulator.scenarios.base import Scenario
from petrosa.exchange.simulator.scenarios.levels import added, behind, capped, scaled, with_level

BPS = 1e-4
EDITED_LEVELS = 20
"""Best levels per side a blow-out thins and an imbalance re-sizes (the strategies read 5
and 10)."""


class StrictParams(BaseModel):
    """Parameters of one scenario: unknown names are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def typical_level_lots(market: SyntheticMarket) -> float:
    """The median size of a quiet book's level, in lots (``book_levels`` draws sizes as
    this times a log-normal factor of median 1)."""
    lot_value = market.instrument.base_price * market.lot
    return LEVEL_NOTIONAL * market.contract.trade_notional / lot_value


# -- iceberg ----------------------------------------------------------------------------


class IcebergParams(StrictParams):
    offset_bps: float = Field(default=5.0, ge=0, le=90)
    """How far under the best bid at the start the iceberg rests (within 1 % of mid)."""
    size_multiple: float = Field(default=8.0, gt=0, le=1_000)
    """Its full size, in typical level sizes (the detector wants >= 3x the median)."""
    period_s: float = Field(default=4.0, ge=1, le=60)
    """One cycle: full, eaten down for ``depleted_s``, refilled."""
    depleted_s: float = Field(default=1.0, ge=0.1, le=30)
    """How long it shows eaten down: a whole second, so a 1 s sampler sees every dip."""
    depleted_share: float = Field(default=0.2, gt=0, lt=0.5)
    """What is left of it while eaten down."""

    @model_validator(mode="after")
    def _cycle_fits(self) -> IcebergParams:
        if self.period_s < 2 * self.depleted_s:
            raise ValueError("period_s must be at least twice depleted_s")
        return self


@dataclass(frozen=True, kw_only=True)
class Iceberg(Scenario):
    """A bid that sells keep eating and that comes back to the same size, at one price."""

    price: int
    """Ticks."""
    full_lots: int
    settings: IcebergParams

    @classmethod
    def prepare(
        cls, market: SyntheticMarket, start_ms: int, settings: IcebergParams
    ) -> dict[str, Any]:
        """The fields fixed at the start: the price and the full size."""
        last = market_price_ticks(market, start_ms)
        offset = max(2, round(settings.offset_bps * BPS * last))
        lots = max(1, round(settings.size_multiple * typical_level_lots(market)))
        return {"price": max(1, last - offset), "full_lots": lots, "settings": settings}

    def edit_book(self, book: Book) -> Book:
        elapsed = book.step * STEP_MS - self.window.start_ms
        period_ms = round(self.settings.period_s * 1_000)
        depleted_ms = min(round(self.settings.depleted_s * 1_000), period_ms - STEP_MS)
        in_cycle = elapsed % period_ms
        eaten = period_ms - 2 * depleted_ms <= in_cycle < period_ms - depleted_ms
        lots = self.full_lots
        if eaten:
            lots = max(1, round(lots * self.settings.depleted_share))
        bids = with_level(book.bids, Side.BID, self.price, lots)
        asks = book.asks
        if int(asks.price[0]) <= self.price:  # the iceberg holds: no ask crosses it
            asks = behind(asks, Side.ASK, self.price + 1)
        return replace(book, bids=bids, asks=asks)

    def params(self) -> dict[str, Any]:
        return {**self.settings.model_dump(), "price_ticks": self.price, "lots": self.full_lots}


def market_price_ticks(market: SyntheticMarket, time_ms: int) -> int:
    """The last trade's price at ``time_ms``, in ticks."""
    from petrosa.exchange.simulator.prices import last_price  # imports the trading modules

    return int(last_price(market, time_ms).scaleb(market.contract.price_decimals))


# -- spread blow-out --------------------------------------------------------------------


class SpreadParams(StrictParams):
    wide_bps: float = Field(default=30.0, gt=0, le=2_000)
    """The spread while blown out (the strategy's gate is 10 bps)."""
    depth_factor: float = Field(default=0.15, gt=0, le=1)
    """What is left of the best levels' sizes while blown out."""


@dataclass(frozen=True, kw_only=True)
class SpreadBlowout(Scenario):
    """Liquidity pulled from around the mid at the start, back in one step at the end."""

    settings: SpreadParams

    def edit_book(self, book: Book) -> Book:
        bid, ask = int(book.bids.price[0]), int(book.asks.price[0])
        mid = (bid + ask) / 2
        half = max((ask - bid) / 2, self.settings.wide_bps * BPS * mid / 2)
        bids = behind(book.bids, Side.BID, int(mid - half))
        asks = behind(book.asks, Side.ASK, -int(-(mid + half) // 1))
        factor = self.settings.depth_factor
        return replace(
            book,
            bids=scaled(bids, EDITED_LEVELS, factor),
            asks=scaled(asks, EDITED_LEVELS, factor),
        )

    def params(self) -> dict[str, Any]:
        return self.settings.model_dump()


# -- imbalance --------------------------------------------------------------------------


class ImbalanceParams(StrictParams):
    side: Literal["bid", "ask"] = "bid"
    """The heavy side: bid (buy pressure) or ask."""
    heavy_add: float = Field(default=2.0, gt=0, le=1_000)
    """Added to each of the heavy side's best levels, in typical level sizes."""
    light_cap: float = Field(default=0.5, gt=0, le=1_000)
    """The light side's best levels hold at most this, in typical level sizes."""


@dataclass(frozen=True, kw_only=True)
class Imbalance(Scenario):
    """One side's best levels heavier, the other's lighter, for the whole window. Sizes are
    set, not scaled, so the skew holds whatever the quiet sizes: with the defaults the 10
    best levels give I >= (20 - 5) / (20 + 5) = 0.6 (the trigger is 0.30)."""

    settings: ImbalanceParams
    typical_lots: float

    def edit_book(self, book: Book) -> Book:
        add = round(self.settings.heavy_add * self.typical_lots)
        cap = max(1, round(self.settings.light_cap * self.typical_lots))
        heavy_bids = self.settings.side == "bid"
        bids = (
            added(book.bids, EDITED_LEVELS, add)
            if heavy_bids
            else capped(book.bids, EDITED_LEVELS, cap)
        )
        asks = (
            capped(book.asks, EDITED_LEVELS, cap)
            if heavy_bids
            else added(book.asks, EDITED_LEVELS, add)
        )
        return replace(book, bids=bids, asks=asks)

    def params(self) -> dict[str, Any]:
        return self.settings.model_dump()
