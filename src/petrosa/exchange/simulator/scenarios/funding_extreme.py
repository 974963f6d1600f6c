"""A funding-rate extreme before settlement (USD-M only): from the start until the window
ends (by default the next funding time) ``/fapi/v1/premiumIndex`` and the ``markPrice``
stream carry ``rate`` as ``r``/``lastFundingRate``, and the index price sits ``premium_bps``
on the side that agrees with it (mark above index for a positive rate).

Against ``funding_rate`` (STRATEGIES.md 4.7): 0.0015 is three times its 0.0005 trigger, and
5 bps of premium is 2.5 times its 0.0002 confirmation. It only acts in the 30 minutes before
``T``: start the scenario in them (e.g. the clock at 07:40 UTC) or it stays quiet. The mark
price stays the last trade, as in a quiet market; the funding history
(``/fapi/v1/fundingRate``) is not edited.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from pydantic import Field

from petrosa.exchange.simulator.funding import RATE_CAP, RATE_DECIMALS
from petrosa.exchange.simulator.premium import RATE_TEXT_DECIMALS, PremiumIndex
from petrosa.exchange.simulator.scenarios.base import Scenario
from petrosa.exchange.simulator.scenarios.book_scenarios import BPS, StrictParams
from petrosa.exchange.simulator.text import padded_text
from petrosa.exchange.simulator.trading_json import amount


class FundingParams(StrictParams):
    rate: float = Field(default=0.0015, ge=-RATE_CAP, le=RATE_CAP)
    """Funding rate per period, as a decimal (positive: longs pay shorts)."""
    premium_bps: float = Field(default=5.0, ge=0, le=500)
    """Mark price over index price, on the rate's side."""


@dataclass(frozen=True, kw_only=True)
class FundingExtreme(Scenario):
    """The funding rate and the premium pushed to one side."""

    settings: FundingParams

    def edit_premium(self, index: PremiumIndex, now_ms: int) -> PremiumIndex:
        rate = self.settings.rate
        units = round(rate * 10**RATE_DECIMALS)
        lean = Decimal(1) - Decimal(str(self.settings.premium_bps * BPS)) * (1 if rate >= 0 else -1)
        index_price = amount(Decimal(index.mark_price) * lean)
        return replace(
            index,
            funding_rate=padded_text(units, RATE_DECIMALS, RATE_TEXT_DECIMALS),
            index_price=index_price,
        )

    def params(self) -> dict[str, Any]:
        return self.settings.model_dump()
