"""Scripted market scenarios: timed edits of one (market, symbol) that make the synthetic
market show what a realtime strategy looks for (issue 11, section 2)::

    iceberg          a bid refilling at one price              book (depth, diff, ticker)
    spread_blowout   spread 30 bps, thin top, then recovery    book
    imbalance        one side's best levels heavy              book
    buy_burst        taker buys, bigger, price +0.8 %, fade    trades, klines, book, mark
    funding_extreme  r = 0.0015 and a premium, until T         premiumIndex, markPrice

A scenario edits what the market computes at one hook per kind of data (``overlay``), as a
pure function of time, so REST and every stream agree and a restarted simulator given the
same scenarios serves the same market. ``board.ScenarioBoard`` starts and ends them;
``api`` serves ``/sim/scenarios``; ``exchange-sim serve --scenario name:SYMBOL[:market]``
starts them with the server. This module exports only the request side, which the settings
use; import the board and the API from their modules.
"""

from petrosa.exchange.simulator.scenarios.requests import (
    ScenarioName,
    ScenarioRequest,
    parse_spec,
)

__all__ = ["ScenarioName", "ScenarioRequest", "parse_spec"]
