"""Wiring of the exchange simulator: ``create_app(settings)`` gives the ASGI app.

Requests to ``/api/v3`` and ``/fapi/v1`` pass the rate-limit gate (``gate``), then the spot or
futures routes, which read the synthetic market (``market``) and its order book (``book``,
served by ``depth``) at the clock's "now". The signed futures trading routes (``trading``,
algo orders in ``trading_algo``) act on a paper account (``desk``) priced by the same market.

WebSocket requests for Binance's stream paths (spot ``/ws``, ``/stream``; futures
``/public/...``, ``/market/...``) are taken by ``ws.asgi.StreamRoutes`` ahead of every HTTP
middleware and served by one ``ws.hub.StreamHub`` (``app.state.streams``): each subscription
polls a feed (``feeds.open_feed``) of the same ``Venue`` at its clock's "now";
``/sim/ws/...`` inspects the connections and injects faults.
"""

from __future__ import annotations

from fastapi import FastAPI

from petrosa import __version__
from petrosa.exchange.simulator import control, depth, futures, spot, trading, trading_algo
from petrosa.exchange.simulator.clock import Clock, SimulatedClock
from petrosa.exchange.simulator.desk import PaperDesk
from petrosa.exchange.simulator.errors import install_error_handler
from petrosa.exchange.simulator.gate import RateLimitGate
from petrosa.exchange.simulator.responses import JsonResponse
from petrosa.exchange.simulator.scenarios import api as scenario_api
from petrosa.exchange.simulator.scenarios.board import ScenarioBoard
from petrosa.exchange.simulator.settings import SimulatorSettings
from petrosa.exchange.simulator.venue import Venue
from petrosa.exchange.simulator.ws import api as stream_api
from petrosa.exchange.simulator.ws.asgi import StreamRoutes
from petrosa.exchange.simulator.ws.feeds import market_feeds
from petrosa.exchange.simulator.ws.hub import StreamHub
from petrosa.webauth import BodyLimits, RequestGate


def create_app(settings: SimulatorSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The simulator app; ``clock`` defaults to one built from the settings."""
    settings = settings or SimulatorSettings()
    if clock is None:
        clock = SimulatedClock(settings.clock_start_ms, frozen=settings.clock_frozen)
    venue = Venue(settings, clock)
    app = FastAPI(
        title="petrosa exchange simulator",
        version=__version__,
        description="A deterministic synthetic market behind Binance's REST API.",
        default_response_class=JsonResponse,
    )
    app.state.venue = venue
    paper = PaperDesk(venue)
    venue.on_reset(paper.reset)
    app.state.paper = paper
    scenarios = ScenarioBoard(venue)
    for wanted in settings.scenarios:
        scenarios.start(wanted)
    app.state.scenarios = scenarios
    app.state.metrics = control.metrics_registry(venue)
    streams = StreamHub(settings, clock_ms=venue.now_ms, open_feed=market_feeds(venue))
    venue.on_reset(streams.faults.clear)
    app.state.streams = streams
    install_error_handler(app)
    app.include_router(spot.router)
    app.include_router(futures.router)
    app.include_router(depth.router)
    for router in (trading.v1, trading_algo.router, trading.v2, trading.v3, trading.inspection):
        app.include_router(router)
    app.include_router(control.health)
    app.include_router(scenario_api.router)
    app.include_router(control.sim)
    app.include_router(stream_api.router)
    app.add_route("/metrics", control.metrics_endpoint, include_in_schema=False)
    app.add_middleware(RequestGate, limits=BodyLimits(settings.max_body_bytes))
    app.add_middleware(RateLimitGate, budgets=venue.budgets)  # weighs refusals too
    app.add_middleware(StreamRoutes, hub=streams)  # outermost: frames skip the HTTP layers
    return app
