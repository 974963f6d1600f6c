"""Routes that are the simulator's own, not Binance's: health, metrics and test controls.

``GET /sim/stats`` shows, per market, requests, 429s, 418s, bans and weight; ``POST
/sim/reset`` forgets usage, bans and counters (for tests). None of them count weight.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import Response

from petrosa.exchange.simulator.responses import JsonResponse
from petrosa.exchange.simulator.venue import Venue, venue_of

health = APIRouter(prefix="/health", tags=["health"])
sim = APIRouter(prefix="/sim", tags=["simulator"])


@health.get("/liveness")
async def liveness() -> JsonResponse:
    """The process is up and serving."""
    return JsonResponse({"status": "ok"})


@health.get("/readiness")
async def readiness() -> JsonResponse:
    """Ready as soon as it serves: the simulator depends on nothing else."""
    return JsonResponse({"status": "ready"})


def stats_body(venue: Venue) -> dict[str, object]:
    """Clock, configuration and per-market counters."""
    return {
        "serverTime": venue.now_ms(),
        "clock": {"frozen": venue.settings.clock_frozen, "start": venue.settings.clock_start},
        "seed": venue.settings.seed,
        "symbols": list(venue.instruments),
        "markets": {kind.value: budget.snapshot() for kind, budget in venue.budgets.items()},
    }


@sim.get("/stats")
async def stats(request: Request) -> JsonResponse:
    """Requests, 429s, 418s and weight used, per market."""
    body = stats_body(venue_of(request))
    clock = body["clock"]
    assert isinstance(clock, dict)
    start = clock["start"]
    clock["start"] = None if start is None else start.isoformat()
    return JsonResponse(body)


LATEST_CLOCK_MS = 4_102_444_800_000
"""2100-01-01, the platform's last timestamp (``contracts.market.EpochMs``): the simulated
time never passes it (past it the market's day arrays and 64-bit timestamps give out)."""


@sim.post("/clock/advance")
async def advance_clock(request: Request, ms: int) -> JsonResponse:
    """Move simulated time forward by ``ms`` (e.g. to let a resting stop order trigger in a
    test); only a clock that can be moved accepts it, and never past ``LATEST_CLOCK_MS``."""
    clock = venue_of(request).clock
    if ms <= 0 or not hasattr(clock, "advance"):
        return JsonResponse({"code": -1100, "msg": "ms must be positive"}, status_code=400)
    if clock.now_ms() + ms >= LATEST_CLOCK_MS:
        message = f"ms would move the clock past {LATEST_CLOCK_MS} (2100-01-01)"
        return JsonResponse({"code": -1100, "msg": message}, status_code=400)
    clock.advance(ms)
    return JsonResponse({"serverTime": clock.now_ms()})


@sim.post("/reset")
async def reset(request: Request) -> JsonResponse:
    """Forget weight used, 429 strikes, bans and counters of every market."""
    venue_of(request).reset()
    return JsonResponse({"status": "reset"})


class _BudgetCollector(Collector):
    """Exports the budgets' counters at scrape time (no double bookkeeping)."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue

    def collect(self) -> Iterator[Metric]:
        counters = {
            "requests": "Market requests received",
            "rate_limited": "Requests answered 429",
            "banned": "Requests answered 418",
            "bans": "Bans imposed",
            "weight_total": "Request weight admitted",
        }
        for name, doc in counters.items():
            family = CounterMetricFamily(f"petrosa_exchange_sim_{name}", doc, labels=["market"])
            for kind, budget in self.venue.budgets.items():
                family.add_metric([kind.value], float(getattr(budget.stats, name)))
            yield family
        used = GaugeMetricFamily(
            "petrosa_exchange_sim_weight_used_1m", "Weight used this minute", labels=["market"]
        )
        for kind, budget in self.venue.budgets.items():
            used.add_metric([kind.value], float(budget.used_weight()))
        yield used


def metrics_registry(venue: Venue) -> CollectorRegistry:
    """A registry of this venue's counters."""
    registry = CollectorRegistry()
    registry.register(_BudgetCollector(venue))
    return registry


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format."""
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
