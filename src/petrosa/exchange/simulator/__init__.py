"""The local exchange simulator: Binance's spot and USD-M futures market-data REST API (klines,
aggregate trades, funding, the order book) and WebSocket market streams (``ws``: ``/ws``,
``/stream``, ``/public/...``, ``/market/...``, fed by ``feeds``) over a deterministic
synthetic market, with Binance's weights, limits, connection rules and errors.

``create_app(settings)`` builds the ASGI app; ``petrosa exchange-sim serve`` runs it.
"""

from petrosa.exchange.simulator.app import create_app
from petrosa.exchange.simulator.clock import Clock, ManualClock, SimulatedClock
from petrosa.exchange.simulator.settings import SimulatorSettings

__all__ = ["Clock", "ManualClock", "SimulatedClock", "SimulatorSettings", "create_app"]
