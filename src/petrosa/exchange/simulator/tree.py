"""Top-down refinement: split candles into child candles that aggregate back exactly.

A parent's open, close, high and low, and its integer volumes and counts, are given; its
children get a Brownian-bridge path from the parent's open to its close, wicks, and shares
of every additive column (largest-remainder rounding, so the shares sum to the parent's
total). The child reaching highest gets the parent's high, the one reaching lowest its low:
the children's open (first), close (last), max high, min low and sums are the parent again.
All randomness comes in as arrays of standard normal draws, so this module is pure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from petrosa.exchange.simulator.bars import ADDITIVE, Bars, Ints

Floats = NDArray[np.float64]

BRIDGE_SPREAD = 0.45
"""Bridge step size relative to the parent's range / sqrt(children): how far children roam."""
WICK_SCALE = 0.5
"""Wick length relative to a bridge step."""
ACTIVITY_NOISE = 0.35
"""Log-normal spread of how busy one child is compared with its siblings."""
COLUMN_JITTER = 0.12
"""Extra log-normal spread of each additive column around the child's activity."""
RANGE_COUPLING = 1.5
"""Children that move more trade more: weight x (1 + coupling x range / mean range)."""
MIN_PRICE_TICKS = 1
"""Prices never go below one tick."""


@dataclass(frozen=True)
class ChildDraws:
    """Standard normal draws for ``P`` parents of ``n`` children each, shape (P, n)."""

    bridge: Floats
    up: Floats
    down: Floats
    activity: Floats
    columns: dict[str, Floats]
    """One array per additive column (see ``bars.ADDITIVE``)."""


@dataclass(frozen=True)
class ChildPrices:
    """Open, high, low, close in ticks, shape (P, n)."""

    open: Ints
    high: Ints
    low: Ints
    close: Ints


def _bridge(open_: Ints, close: Ints, scale: Floats, shocks: Floats) -> Floats:
    """Closes of ``n`` steps from ``open_`` to ``close``: a straight line plus a bridge."""
    n = shocks.shape[1]
    walk = np.cumsum(shocks, axis=1)
    steps = np.arange(1, n + 1, dtype=np.float64) / n
    bridge = walk - steps * walk[:, -1:]
    line = open_[:, None] + (close - open_)[:, None] * steps
    closes: Floats = line + scale[:, None] * bridge
    return closes


def _shape(open_: Ints, closes: Ints, scale: Floats, draws: ChildDraws) -> tuple[Ints, ...]:
    opens = np.concatenate([open_[:, None], closes[:, :-1]], axis=1)
    wick = scale[:, None] * WICK_SCALE
    reach_up = np.maximum(opens, closes) + np.rint(np.abs(draws.up) * wick).astype(np.int64)
    reach_down = np.minimum(opens, closes) - np.rint(np.abs(draws.down) * wick).astype(np.int64)
    return opens, reach_up, np.maximum(reach_down, MIN_PRICE_TICKS)


def free_prices(open_: Ints, close: Ints, scale: Floats, draws: ChildDraws) -> ChildPrices:
    """Children of parents whose high and low are not fixed yet (they follow from these)."""
    closes = np.rint(_bridge(open_, close, scale, draws.bridge)).astype(np.int64)
    closes = np.maximum(closes, MIN_PRICE_TICKS)
    closes[:, -1] = close
    opens, high, low = _shape(open_, closes, scale, draws)
    return ChildPrices(opens, high, low, closes)


def bounded_prices(parent: Bars, draws: ChildDraws) -> ChildPrices:
    """Children within the parent's [low, high], touching both."""
    n = draws.bridge.shape[1]
    scale = (parent.high - parent.low) * BRIDGE_SPREAD / np.sqrt(n)
    low, high = parent.low[:, None], parent.high[:, None]
    raw = _bridge(parent.open, parent.close, scale, draws.bridge)
    closes = np.clip(np.rint(raw).astype(np.int64), low, high)
    closes[:, -1] = parent.close
    opens, reach_up, reach_down = _shape(parent.open, closes, scale, draws)
    rows = np.arange(len(parent))
    child_high = np.minimum(reach_up, high)
    child_high[rows, np.argmax(reach_up, axis=1)] = parent.high
    child_low = np.maximum(reach_down, low)
    child_low[rows, np.argmin(reach_down, axis=1)] = parent.low
    return ChildPrices(opens, child_high, child_low, closes)


def split_total(total: Ints, weights: Floats, reserve: int = 0) -> Ints:
    """Split each row's ``total`` over its children in proportion to ``weights``.

    Every child first gets ``reserve``; the rest is shared by largest remainders, so each
    row sums to its total exactly (float rounding of huge totals is absorbed as well).
    """
    n = weights.shape[1]
    free = total - n * reserve
    raw = free[:, None] * (weights / weights.sum(axis=1, keepdims=True))
    base = np.floor(raw)
    parts = base.astype(np.int64)
    remainder = free - parts.sum(axis=1)
    ranks = np.argsort(np.argsort(base - raw, axis=1, kind="stable"), axis=1, kind="stable")
    whole, extra = np.divmod(remainder, n)
    shares: Ints = parts + whole[:, None] + (ranks < extra[:, None]) + reserve
    return shares


def _exclusive_cumsum(values: Ints) -> Ints:
    totals = np.cumsum(values, axis=1)
    return totals - values


def distribute(
    parent: Bars,
    prices: ChildPrices,
    draws: ChildDraws,
    *,
    child_ms: int,
    reserve_aggs: int,
    season: Floats | None = None,
) -> Bars:
    """The parent's volumes, counts and ids shared among children with ``prices``.

    ``reserve_aggs`` aggregate trades per side are guaranteed to every child (so every
    minute has trades on both sides); ``season`` scales activity by child position.
    """
    spread = (prices.high - prices.low).astype(np.float64)
    relative = spread / (spread.mean(axis=1, keepdims=True) + 1.0)
    activity = np.exp(ACTIVITY_NOISE * draws.activity) * (1.0 + RANGE_COUPLING * relative)
    if season is not None:
        activity = activity * season
    columns: dict[str, Ints] = {}
    for name in ADDITIVE[:6]:
        weights = activity * np.exp(COLUMN_JITTER * draws.columns[name])
        reserve = reserve_aggs if name.startswith("aggs") else 0
        columns[name] = split_total(getattr(parent, name), weights, reserve)
    typical = (prices.high + prices.low + prices.close) / 3.0
    for side in ("buy", "sell"):
        volume = columns[f"aggs_{side}"] + columns[f"extra_{side}"] + columns[f"lots_{side}"]
        columns[f"quote_{side}"] = split_total(getattr(parent, f"quote_{side}"), volume * typical)
    aggs = columns["aggs_buy"] + columns["aggs_sell"]
    trades = aggs + columns["extra_buy"] + columns["extra_sell"]
    n = prices.open.shape[1]
    starts = parent.start[:, None] + np.arange(n, dtype=np.int64) * child_ms
    return Bars(
        start=starts.ravel(),
        open=prices.open.ravel(),
        high=prices.high.ravel(),
        low=prices.low.ravel(),
        close=prices.close.ravel(),
        first_agg_id=(parent.first_agg_id[:, None] + _exclusive_cumsum(aggs)).ravel(),
        first_trade_id=(parent.first_trade_id[:, None] + _exclusive_cumsum(trades)).ravel(),
        **{name: values.ravel() for name, values in columns.items()},
    )
