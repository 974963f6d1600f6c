"""The synthetic market of one symbol on one market: a deterministic tree of candles.

Days are the roots. A day's close is a smooth trend (a few slow sines with seeded phases)
times seeded noise, so any day is computed directly, without the days before it; its open is
the previous day's close. Each day is split into 24 hours by a Brownian bridge (the day's high
and low are whatever its hours reach), each hour into 4 quarter-hours and each quarter into
15 minutes, every split exact (see ``tree``). So every interval Binance serves is an exact
aggregation of 1-minute candles, and any candle costs only its own branch of the tree::

    day ──24──► hour ──4──► quarter (15m) ──15──► minute ──► aggregate trades (``trades``)

Aggregate and individual trade ids count from 0 at the listing; a day's first ids come from
the per-day totals of every earlier day (cheap: those totals need no intraday detail).
Prices are shared by the spot and futures markets (up to tick size); activity is not.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np

from petrosa.exchange.simulator.bars import ADDITIVE, Bars, Ints, empty_bars
from petrosa.exchange.simulator.instruments import Instrument, MarketKind
from petrosa.exchange.simulator.noise import normal, stream_key
from petrosa.exchange.simulator.tree import (
    ChildDraws,
    bounded_prices,
    distribute,
    free_prices,
)

if TYPE_CHECKING:
    from petrosa.exchange.simulator.overlay import MarketOverlay


class Level(IntEnum):
    """Levels of the candle tree, finest first."""

    MINUTE = 0
    QUARTER = 1
    HOUR = 2
    DAY = 3


MINUTE_MS = 60_000
LEVEL_MS: dict[Level, int] = {
    Level.MINUTE: MINUTE_MS,
    Level.QUARTER: 15 * MINUTE_MS,
    Level.HOUR: 60 * MINUTE_MS,
    Level.DAY: 1_440 * MINUTE_MS,
}
FANOUT: dict[Level, int] = {Level.DAY: 24, Level.HOUR: 4, Level.QUARTER: 15}
"""Children per node of each level."""

MIN_AGGS_PER_SIDE_PER_MINUTE = 2
"""Every minute has at least two aggregate trades per taker side (so >= 4 prices to show
its open, high, low and close)."""

TREND_PERIODS_DAYS = (173.0, 61.0, 17.0, 4.3)
TREND_AMPLITUDES = (8.0, 3.5, 1.5, 0.6)
"""Amplitudes of the log-price sines, in units of the instrument's daily volatility."""
CLOSE_NOISE = 0.6
"""Day-close noise around the trend, in daily volatilities."""
HOUR_STEP = 0.15
"""Hourly bridge step, in daily volatilities of the price."""
SESSION_PEAK_HOUR = 15
SESSION_AMPLITUDE = 0.3
"""Intraday seasonality of activity: busiest around 15:00 UTC."""
ACTIVITY_SPREAD = 0.25
MOVE_ACTIVITY = 8.0
"""Days that move more trade more: activity x (1 + coupling x |day return|)."""
BUY_SHARE_SLOPE = 1.5
BUY_SHARE_NOISE = 0.02
BUY_SHARE_RANGE = (0.35, 0.65)
TRADES_PER_AGG = 2.0
COUNT_JITTER = 0.1
LOTS_JITTER = 0.15
ID_CACHE_HEADROOM_DAYS = 64


def _minutes(level: Level) -> int:
    return LEVEL_MS[level] // MINUTE_MS


class SyntheticMarket:
    """Candles of one instrument on one market, for any time, the same for the same seed."""

    def __init__(
        self, instrument: Instrument, market: MarketKind, *, seed: int, listing_ms: int
    ) -> None:
        self.instrument = instrument
        self.market = market
        self.contract = instrument.contract(market)
        self.seed = seed
        self.listing_day = -(-listing_ms // LEVEL_MS[Level.DAY])
        self.tick = 10.0**-self.contract.price_decimals
        self.lot = 10.0**-self.contract.qty_decimals
        symbol = instrument.symbol
        self._keys: dict[tuple[str, ...], int] = {}
        phases = [stream_key(seed, symbol, "trend", str(i)) for i in range(len(TREND_PERIODS_DAYS))]
        self._phases = np.array([2 * np.pi * (p / 2.0**64) for p in phases])
        hours = np.arange(FANOUT[Level.DAY], dtype=np.float64)
        self._season = 1.0 + SESSION_AMPLITUDE * np.cos(
            2 * np.pi * (hours - SESSION_PEAK_HOUR) / FANOUT[Level.DAY]
        )
        lot_value = instrument.base_price * self.lot
        self._lots_per_trade = max(1.0, self.contract.trade_notional / lot_value)
        self._id_cache_stop = self.listing_day
        self._agg_origin = np.zeros(1, dtype=np.int64)
        self._trade_origin = np.zeros(1, dtype=np.int64)
        self.overlay: MarketOverlay | None = None
        """Scripted scenarios edit what this market serves (``scenarios``); None: quiet."""

    # -- public ---------------------------------------------------------------------------

    def first_index(self, level: Level) -> int:
        """Index of the first node of ``level`` that exists (at or after the listing)."""
        return self.listing_day * (LEVEL_MS[Level.DAY] // LEVEL_MS[level])

    def stream(self, name: str) -> int:
        """Key of a named stream of draws about this market's activity (e.g. trades)."""
        return self._key(self.market.value, name)

    def _price_stream(self, name: str) -> int:
        """Key of a stream of price draws: shared by the spot and futures markets."""
        return self._key("price", name)

    def _key(self, *labels: str) -> int:
        key = self._keys.get(labels)
        if key is None:
            key = self._keys[labels] = stream_key(self.seed, self.instrument.symbol, *labels)
        return key

    def nodes(self, level: Level, first: int, stop: int) -> Bars:
        """Nodes of ``level`` with index (open time / level length) in [first, stop), as
        served: with the trades a scenario edits (``overlay``) aggregated into them."""
        nodes = self.tree_nodes(level, first, stop)
        if self.overlay is None or len(nodes) == 0:
            return nodes
        return self.overlay.edit_nodes(self, level, nodes)

    @property
    def overlay_version(self) -> int:
        """Changes whenever a scenario starts or ends on this market (keys caches)."""
        return 0 if self.overlay is None else self.overlay.version

    def tree_nodes(self, level: Level, first: int, stop: int) -> Bars:
        """Nodes of ``level`` with index in [first, stop) as the tree draws them."""
        first = max(first, self.first_index(level))
        if stop <= first:
            return empty_bars()
        if level is Level.DAY:
            return self._days(first, stop, with_hours=False)[0]
        parent_level = Level(level + 1)
        fan = FANOUT[parent_level]
        parent_first, parent_stop = first // fan, -(-stop // fan)
        if parent_level is Level.DAY:
            children = self._days(parent_first, parent_stop, with_hours=True)[1]
        else:
            parents = self.tree_nodes(parent_level, parent_first, parent_stop)
            children = self._children(parents, parent_level)
        offset = parent_first * fan
        return children.take(slice(first - offset, stop - offset))

    def day_of_agg_id(self, agg_id: int, *, last_day: int) -> int | None:
        """The day (index) holding aggregate trade ``agg_id``; None if not by ``last_day``."""
        if agg_id < 0 or last_day < self.listing_day:
            return None
        origins, _ = self._id_origins(self.listing_day, last_day + 2)
        day = int(np.searchsorted(origins, agg_id, side="right")) - 1
        return self.listing_day + day if day < len(origins) - 1 else None

    # -- days -----------------------------------------------------------------------------

    def _boundary_closes(self, days: Ints) -> Ints:
        """Close (ticks) of each day: price at the day's end."""
        t_days = (days + 1).astype(np.float64)
        periods = np.array(TREND_PERIODS_DAYS)
        amplitudes = np.array(TREND_AMPLITUDES) * self.instrument.daily_volatility
        waves = np.sin(2 * np.pi * t_days[:, None] / periods + self._phases) * amplitudes
        volatility = self.instrument.daily_volatility
        noise = CLOSE_NOISE * volatility * normal(self._price_stream("close"), days)
        price = self.instrument.base_price * np.exp(waves.sum(axis=1) + noise)
        ticks: Ints = np.maximum(np.rint(price / self.tick).astype(np.int64), 1)
        return ticks

    def _day_counts(self, days: Ints, open_: Ints, close: Ints) -> dict[str, Ints]:
        """Per-day totals of the count and lot columns (from open and close alone)."""
        move = (close - open_) / open_
        activity = np.exp(ACTIVITY_SPREAD * normal(self.stream("day:activity"), days))
        aggs = self.contract.daily_agg_trades * activity * (1 + MOVE_ACTIVITY * np.abs(move))
        low, high = BUY_SHARE_RANGE
        tilt = BUY_SHARE_SLOPE * move + BUY_SHARE_NOISE * normal(self.stream("day:buy"), days)
        share = np.clip(0.5 + tilt, low, high)
        floor = MIN_AGGS_PER_SIDE_PER_MINUTE * _minutes(Level.DAY)
        counts = {
            "aggs_buy": np.maximum(np.rint(aggs * share).astype(np.int64), floor),
            "aggs_sell": np.maximum(np.rint(aggs * (1 - share)).astype(np.int64), floor),
        }
        for side in ("buy", "sell"):
            extra = counts[f"aggs_{side}"] * (TRADES_PER_AGG - 1)
            extra = extra * np.exp(COUNT_JITTER * normal(self.stream(f"day:extra_{side}"), days))
            counts[f"extra_{side}"] = np.rint(extra).astype(np.int64)
            trades = counts[f"aggs_{side}"] + counts[f"extra_{side}"]
            lots = trades * (self._lots_per_trade - 1)
            lots = lots * np.exp(LOTS_JITTER * normal(self.stream(f"day:lots_{side}"), days))
            counts[f"lots_{side}"] = np.rint(lots).astype(np.int64)
        return counts

    def _days(self, first: int, stop: int, *, with_hours: bool) -> tuple[Bars, Bars]:
        """Day nodes [first, stop) and, ``with_hours``, their hours (else no bars)."""
        days = np.arange(first, stop, dtype=np.int64)
        closes = self._boundary_closes(np.arange(first - 1, stop, dtype=np.int64))
        open_, close = closes[:-1], closes[1:]
        scale = (open_ + close) / 2.0 * self.instrument.daily_volatility * HOUR_STEP
        hour_index = days[:, None] * FANOUT[Level.DAY] + np.arange(FANOUT[Level.DAY])
        draws = self._draws(Level.HOUR, hour_index, with_activity=with_hours)
        prices = free_prices(open_, close, scale, draws)
        high, low = prices.high.max(axis=1), prices.low.min(axis=1)
        counts = self._day_counts(days, open_, close)
        typical = (high + low + close) / 3.0
        quotes = {
            f"quote_{side}": np.rint(
                (counts[f"aggs_{side}"] + counts[f"extra_{side}"] + counts[f"lots_{side}"])
                * typical
            ).astype(np.int64)
            for side in ("buy", "sell")
        }
        agg_origin, trade_origin = self._id_origins(first, stop)
        day_bars = Bars(
            start=days * LEVEL_MS[Level.DAY],
            open=open_,
            high=high,
            low=low,
            close=close,
            first_agg_id=agg_origin,
            first_trade_id=trade_origin,
            **counts,
            **quotes,
        )
        if not with_hours:
            return day_bars, empty_bars()
        hours = distribute(
            day_bars,
            prices,
            draws,
            child_ms=LEVEL_MS[Level.HOUR],
            reserve_aggs=MIN_AGGS_PER_SIDE_PER_MINUTE * _minutes(Level.HOUR),
            season=self._season,
        )
        return day_bars, hours

    # -- intraday -------------------------------------------------------------------------

    def _children(self, parents: Bars, level: Level) -> Bars:
        """The children of hour or quarter nodes."""
        child_level = Level(level - 1)
        child_ms = LEVEL_MS[child_level]
        index = (parents.start // child_ms)[:, None] + np.arange(FANOUT[level])
        draws = self._draws(child_level, index)
        return distribute(
            parents,
            bounded_prices(parents, draws),
            draws,
            child_ms=child_ms,
            reserve_aggs=MIN_AGGS_PER_SIDE_PER_MINUTE * _minutes(child_level),
        )

    def _draws(self, level: Level, index: Ints, *, with_activity: bool = True) -> ChildDraws:
        """Draws for children with ``index`` at ``level``; prices only unless ``with_activity``."""
        name = level.name
        if with_activity:
            busy = normal(self.stream(f"{name}:activity"), index)
            columns = {c: normal(self.stream(f"{name}:{c}"), index) for c in ADDITIVE[:6]}
        else:
            busy, columns = np.zeros(index.shape), {}
        return ChildDraws(
            bridge=normal(self._price_stream(f"{name}:bridge"), index),
            up=normal(self._price_stream(f"{name}:up"), index),
            down=normal(self._price_stream(f"{name}:down"), index),
            activity=busy,
            columns=columns,
        )

    # -- ids ------------------------------------------------------------------------------

    def _id_origins(self, first: int, stop: int) -> tuple[Ints, Ints]:
        """First aggregate and individual trade ids of days [first, stop)."""
        if stop >= self._id_cache_stop:
            self._extend_id_cache(stop + ID_CACHE_HEADROOM_DAYS)
        lo, hi = first - self.listing_day, stop - self.listing_day
        return self._agg_origin[lo:hi], self._trade_origin[lo:hi]

    def _extend_id_cache(self, stop: int) -> None:
        days = np.arange(self.listing_day, stop, dtype=np.int64)
        closes = self._boundary_closes(np.arange(self.listing_day - 1, stop, dtype=np.int64))
        counts = self._day_counts(days, closes[:-1], closes[1:])
        aggs = counts["aggs_buy"] + counts["aggs_sell"]
        trades = aggs + counts["extra_buy"] + counts["extra_sell"]
        self._agg_origin = np.concatenate([[0], np.cumsum(aggs)]).astype(np.int64)
        self._trade_origin = np.concatenate([[0], np.cumsum(trades)]).astype(np.int64)
        self._id_cache_stop = stop
