"""Request weights and the per-market budget that answers 429, then 418, like Binance.

=============================  ==================  ======================================
endpoint                       spot ``/api/v3``    USD-M futures ``/fapi/v1``
=============================  ==================  ======================================
``ping``, ``time``             1                   1
``exchangeInfo``               20                  1
``klines``                     2                   limit [1,100) 1, [100,500) 2,
                                                   [500,1000] 5, > 1000 10 (default 500)
``aggTrades``                  4                   20
``depth``                      limit [1,100] 5,    limit <= 50 2, 100 5, 500 10,
                               [101,500] 25,       1000 20 (default 500)
                               [501,1000] 50,
                               > 1000 250
                               (default 100)
``fundingRate``                —                   0, and 1 of its own 500 / 5 min
``premiumIndex``               —                   1
``order``                      —                   POST 0 (orders count on their own
                                                   limit), GET and DELETE 1
``algoOrder``                  —                   POST 0, GET and DELETE 1
``openOrders``,                —                   1 with ``symbol``, 40 without
  ``openAlgoOrders``
``leverage``                   —                   1
``userTrades``                 —                   5
``positionRisk`` (v2, v3)      —                   5
``account``, ``balance``       —                   5
  (v2, v3)
anything else                  1                   1
=============================  ==================  ======================================

Weight is counted in fixed one-minute windows of the clock's ``running_ms`` (a window ends
at every minute boundary). A request that would take the window past the budget gets 429
with ``Retry-After`` = seconds until the window resets. Requests that keep coming while
that window lasts are tolerated up to ``ban_tolerance``; the next one bans the market:
418 with ``Retry-After`` = the ban's remaining seconds, for ``ban_s`` (doubling with every
further ban, up to ``max_ban_s``), during which every request gets 418.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from petrosa.exchange.simulator.clock import Clock
from petrosa.exchange.simulator.instruments import MarketKind

WEIGHT_WINDOW_MS = 60_000
FUNDING_WINDOW_MS = 300_000
FUNDING_LIMITER = "fundingRate"
DEFAULT_WEIGHT = 1
DEFAULT_KLINE_LIMIT = 500
FUTURES_KLINE_TIERS = ((99, 1), (499, 2), (1_000, 5))
"""(largest limit, weight): futures klines weigh by ``limit``; above the last tier 10."""
FUTURES_KLINE_TOP_WEIGHT = 10
DEFAULT_DEPTH_LIMIT: dict[MarketKind, int] = {MarketKind.SPOT: 100, MarketKind.FUTURES: 500}
DEPTH_TIERS: dict[MarketKind, tuple[tuple[int, int], ...]] = {
    MarketKind.SPOT: ((100, 5), (500, 25), (1_000, 50)),
    MarketKind.FUTURES: ((50, 2), (100, 5), (500, 10)),
}
"""(largest limit, weight): the order book weighs by ``limit`` on both markets."""
DEPTH_TOP_WEIGHT: dict[MarketKind, int] = {MarketKind.SPOT: 250, MarketKind.FUTURES: 20}
_MS_PER_S = 1_000
_MAX_LIMIT_DIGITS = 20

FLAT_WEIGHTS: dict[MarketKind, dict[str, int]] = {
    MarketKind.SPOT: {"ping": 1, "time": 1, "exchangeInfo": 20, "klines": 2, "aggTrades": 4},
    MarketKind.FUTURES: {
        "ping": 1,
        "time": 1,
        "exchangeInfo": 1,
        "aggTrades": 20,
        "fundingRate": 0,
        "premiumIndex": 1,
        "order": 1,
        "openOrders": 1,
        "algoOrder": 1,
        "openAlgoOrders": 1,
        "leverage": 1,
        "userTrades": 5,
        "positionRisk": 5,
        "account": 5,
        "balance": 5,
    },
}
METHOD_WEIGHTS: dict[MarketKind, dict[tuple[str, str], int]] = {
    MarketKind.SPOT: {},
    MarketKind.FUTURES: {("POST", "order"): 0, ("POST", "algoOrder"): 0},
}
"""Weights that depend on the HTTP method: a new order (or algo order) draws no IP weight on
Binance."""
ALL_SYMBOLS_WEIGHTS: dict[MarketKind, dict[str, int]] = {
    MarketKind.SPOT: {},
    MarketKind.FUTURES: {"openOrders": 40, "openAlgoOrders": 40},
}
"""Weights of requests that leave out ``symbol`` and so cover every symbol."""


@dataclass(frozen=True)
class Cost:
    """What one request draws: request weight, and units of any extra limiter."""

    weight: int
    extra: Mapping[str, int] = field(default_factory=dict)


def _tiered(limit: int, tiers: tuple[tuple[int, int], ...], top: int) -> int:
    for largest, weight in tiers:
        if limit <= largest:
            return weight
    return top


def futures_kline_weight(limit: int) -> int:
    """Weight of a futures klines request for ``limit`` rows."""
    return _tiered(limit, FUTURES_KLINE_TIERS, FUTURES_KLINE_TOP_WEIGHT)


def depth_weight(market: MarketKind, limit: int) -> int:
    """Weight of an order book request for ``limit`` levels per side."""
    return _tiered(limit, DEPTH_TIERS[market], DEPTH_TOP_WEIGHT[market])


def _limit(query: Mapping[str, str], default: int) -> int:
    """``limit`` as sent, else ``default`` (the route then refuses what is not a number;
    "²" is a digit to ``isdigit`` but not to ``int``)."""
    raw = query.get("limit", "")
    return (
        int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= _MAX_LIMIT_DIGITS else default
    )


def request_cost(
    market: MarketKind, endpoint: str, query: Mapping[str, str], method: str = "GET"
) -> Cost:
    """The cost of a ``method`` request to ``endpoint`` (the path after the market prefix)."""
    if market is MarketKind.FUTURES and endpoint == "klines":
        return Cost(futures_kline_weight(_limit(query, DEFAULT_KLINE_LIMIT)))
    if endpoint == "depth":
        return Cost(depth_weight(market, _limit(query, DEFAULT_DEPTH_LIMIT[market])))
    by_method = METHOD_WEIGHTS[market].get((method, endpoint))
    if by_method is not None:
        return Cost(by_method)
    if "symbol" not in query and endpoint in ALL_SYMBOLS_WEIGHTS[market]:
        return Cost(ALL_SYMBOLS_WEIGHTS[market][endpoint])
    weight = FLAT_WEIGHTS[market].get(endpoint, DEFAULT_WEIGHT)
    if market is MarketKind.FUTURES and endpoint == "fundingRate":
        return Cost(weight, {FUNDING_LIMITER: 1})
    return Cost(weight)


class Verdict(StrEnum):
    ALLOWED = "allowed"
    RATE_LIMITED = "rate_limited"
    BANNED = "banned"


@dataclass(frozen=True)
class Decision:
    """The budget's answer to one request."""

    verdict: Verdict
    used_weight: int
    """Weight used in the current window, this request included when allowed."""
    retry_after_s: int | None = None
    limiter: str = "weight"
    """Which limit refused the request (``weight`` or an extra limiter's name)."""
    banned_until_ms: int | None = None
    """End of the ban, in the exchange's time (``serverTime``)."""


@dataclass
class _Window:
    """A fixed-window counter."""

    limit: int
    length_ms: int
    used: int = 0
    index: int = -1

    def roll(self, now_ms: int) -> None:
        index = now_ms // self.length_ms
        if index != self.index:
            self.index, self.used = index, 0

    def end_ms(self) -> int:
        return (self.index + 1) * self.length_ms


@dataclass
class MarketStats:
    """Counters of one market since start-up (or the last reset)."""

    requests: int = 0
    allowed: int = 0
    rate_limited: int = 0
    """Answers 429."""
    banned: int = 0
    """Answers 418."""
    bans: int = 0
    """Bans imposed."""
    weight_total: int = 0


@dataclass(frozen=True)
class BanPolicy:
    """When and for how long a market bans."""

    tolerance: int
    """Requests tolerated after a 429 while its window lasts."""
    first_ban_ms: int
    max_ban_ms: int


class MarketBudget:
    """Request weight, extra limiters and bans of one market."""

    def __init__(
        self,
        market: MarketKind,
        weight_limit: int,
        *,
        clock: Clock,
        policy: BanPolicy,
        extra_limits: Mapping[str, tuple[int, int]] | None = None,
    ) -> None:
        self.market = market
        self.weight_limit = weight_limit
        self._clock = clock
        self._policy = policy
        self._extra_limits = dict(extra_limits or {})
        self.reset()

    def reset(self) -> None:
        """Forget all usage, 429s, bans and counters."""
        self._weight = _Window(self.weight_limit, WEIGHT_WINDOW_MS)
        self._extra = {
            name: _Window(limit, length) for name, (limit, length) in self._extra_limits.items()
        }
        self._limited_until = 0
        self._strikes = 0
        self._banned_until = 0
        self.stats = MarketStats()

    def extra_limit(self, name: str) -> tuple[int, int]:
        """(limit, window ms) of the extra limiter ``name``."""
        return self._extra_limits[name]

    def used_weight(self) -> int:
        """Weight used in the current window."""
        self._weight.roll(self._clock.running_ms())
        return self._weight.used

    def banned_for_ms(self) -> int:
        """How long the market stays banned (0: not banned)."""
        return max(0, self._banned_until - self._clock.running_ms())

    def admit(self, cost: Cost) -> Decision:
        """Count a request, or refuse it with 429 (over budget) or 418 (banned)."""
        now = self._clock.running_ms()
        self.stats.requests += 1
        if self._banned_until > now:
            return self._banned(now)
        self._weight.roll(now)
        for window in self._extra.values():
            window.roll(now)
        if self._limited_until > now:
            self._strikes += 1
            if self._strikes > self._policy.tolerance:
                self._ban(now)
                return self._banned(now)
        else:
            self._strikes = 0
        windows = [("weight", self._weight, cost.weight)]
        windows += [(name, self._extra[name], units) for name, units in cost.extra.items()]
        for name, window, units in windows:
            if window.used + units > window.limit:
                end = window.end_ms()
                self._limited_until = max(self._limited_until, end)
                self.stats.rate_limited += 1
                return Decision(
                    Verdict.RATE_LIMITED, self._weight.used, _seconds(end - now), limiter=name
                )
        for _, window, units in windows:
            window.used += units
        self.stats.allowed += 1
        self.stats.weight_total += cost.weight
        return Decision(Verdict.ALLOWED, self._weight.used)

    def _ban(self, now: int) -> None:
        length = self._policy.first_ban_ms * 2**self.stats.bans
        self._banned_until = now + min(length, self._policy.max_ban_ms)
        self._limited_until = self._strikes = 0
        self.stats.bans += 1

    def _banned(self, now: int) -> Decision:
        self.stats.banned += 1
        remaining = self._banned_until - now
        return Decision(
            Verdict.BANNED,
            self._weight.used,
            _seconds(remaining),
            banned_until_ms=self._clock.now_ms() + remaining,
        )

    def snapshot(self) -> dict[str, object]:
        """Counters and current state, for ``/sim/stats``."""
        banned_for = self.banned_for_ms()
        return {
            "requests": self.stats.requests,
            "allowed": self.stats.allowed,
            "rate_limited_429": self.stats.rate_limited,
            "banned_418": self.stats.banned,
            "bans": self.stats.bans,
            "weight_total": self.stats.weight_total,
            "weight_used_1m": self.used_weight(),
            "weight_limit_1m": self.weight_limit,
            "banned_for_s": _seconds(banned_for) if banned_for > 0 else 0,
        }


def _seconds(ms: int) -> int:
    """Whole seconds to wait, rounded up, at least 1."""
    return max(1, math.ceil(ms / _MS_PER_S))
