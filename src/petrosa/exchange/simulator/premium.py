"""A perpetual's premium index at a moment: mark, index and estimated settlement price, the
current funding rate and the next funding time.

``/fapi/v1/premiumIndex`` answers it and the ``markPrice`` stream pushes it; both call
``premium_index`` so the two never disagree. The mark price is the last trade (see
``prices``); the simulator has no separate index, so index and settlement price equal it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from petrosa.exchange.simulator import funding
from petrosa.exchange.simulator.market import SyntheticMarket
from petrosa.exchange.simulator.prices import last_price
from petrosa.exchange.simulator.text import padded_text
from petrosa.exchange.simulator.trading_json import amount

RATE_TEXT_DECIMALS = 8


@dataclass(frozen=True)
class PremiumIndex:
    """The figures as Binance writes them (decimal strings, epoch ms)."""

    mark_price: str
    index_price: str
    estimated_settle_price: str
    funding_rate: str
    next_funding_time: int


@lru_cache(maxsize=256)
def _funding_rate(market: SyntheticMarket, event: int) -> int:
    """The funding rate of one 8-hour event (a pure function of the market's seed)."""
    return int(funding.funding_rates(market, range(event, event + 1)).rate[0])


def premium_index(market: SyntheticMarket, now: int) -> PremiumIndex:
    """The premium index of a futures ``market`` at ``now``."""
    mark = amount(last_price(market, now))
    event = now // funding.FUNDING_INTERVAL_MS
    rate = padded_text(_funding_rate(market, event), funding.RATE_DECIMALS, RATE_TEXT_DECIMALS)
    index = PremiumIndex(
        mark_price=mark,
        index_price=mark,
        estimated_settle_price=mark,
        funding_rate=rate,
        next_funding_time=(event + 1) * funding.FUNDING_INTERVAL_MS,
    )
    return index if market.overlay is None else market.overlay.edit_premium(index, now)
