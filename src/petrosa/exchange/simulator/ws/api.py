"""``/sim/ws/...``: inspect the stream connections and inject faults into them.

* ``GET /sim/ws/connections[?market=&route=]``: open connections (id, path, market, route,
  combined, streams, age);
* ``POST /sim/ws/drop[?market=&route=]``: close them at once (1011), as a failing server would;
* ``POST /sim/ws/shutdown[?market=]``: ``{"e":"serverShutdown","E":…}`` on spot connections,
  then close them all (1001);
* ``POST /sim/ws/stall?stream=&ms=[&market=]``: the stream sends nothing for ``ms``, its
  events meanwhile are lost;
* ``POST /sim/ws/burst?stream=&ms=[&market=]``: its frames are held for ``ms``, then sent at
  once;
* ``POST /sim/ws/skip?stream=[&market=]``: the next update of a diff-depth stream is never
  sent (a gap).

Durations are real milliseconds (the simulated clock may be frozen). Without ``market`` a
stream fault applies on both markets. Every answer counts what it touched.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from petrosa.contracts.market import Market
from petrosa.exchange.binance.streams import Route, StreamKind, UnknownStreamError, parse_stream
from petrosa.exchange.simulator.errors import BinanceError, ErrorCode
from petrosa.exchange.simulator.responses import JsonResponse
from petrosa.exchange.simulator.ws.faults import StreamKey
from petrosa.exchange.simulator.ws.hub import StreamHub

router = APIRouter(prefix="/sim/ws", tags=["simulator"])
_MS_PER_S = 1_000
MAX_FAULT_MS = 3_600_000
FaultMs = Annotated[int, Query(gt=0, le=MAX_FAULT_MS, description="real milliseconds")]


def hub_of(request: Request) -> StreamHub:
    """The hub of ``request``'s app."""
    hub: StreamHub = request.app.state.streams
    return hub


@router.get("/connections")
async def connections(
    request: Request, market: Market | None = None, route: Route | None = None
) -> JsonResponse:
    """The open stream connections and what they are subscribed to."""
    chosen = hub_of(request).connections(market=market, route=route)
    return JsonResponse({"connections": [connection.describe() for connection in chosen]})


@router.post("/drop")
async def drop(
    request: Request, market: Market | None = None, route: Route | None = None
) -> JsonResponse:
    """Close every open connection (of a market or route)."""
    return JsonResponse({"dropped": hub_of(request).drop(market=market, route=route)})


@router.post("/shutdown")
async def shutdown(request: Request, market: Market | None = None) -> JsonResponse:
    """Announce ``serverShutdown`` and close every connection (of a market)."""
    return JsonResponse({"closed": hub_of(request).shut_down(market=market)})


@router.post("/stall")
async def stall(
    request: Request, stream: str, ms: FaultMs, market: Market | None = None
) -> JsonResponse:
    """Silence a stream for ``ms`` milliseconds (its connections stay open)."""
    hub_of(request).faults.stall(_keys(stream, market), ms / _MS_PER_S)
    return JsonResponse({"stalled": stream, "ms": ms})


@router.post("/burst")
async def burst(
    request: Request, stream: str, ms: FaultMs, market: Market | None = None
) -> JsonResponse:
    """Hold a stream's frames for ``ms`` milliseconds, then release them together."""
    hub_of(request).faults.burst(_keys(stream, market), ms / _MS_PER_S)
    return JsonResponse({"burst": stream, "ms": ms})


@router.post("/skip")
async def skip(request: Request, stream: str, market: Market | None = None) -> JsonResponse:
    """Never send the next update of a diff-depth stream: a gap in its update ids."""
    hub_of(request).faults.skip(_keys(stream, market, kind=StreamKind.DIFF_DEPTH))
    return JsonResponse({"skipped": stream})


def _keys(stream: str, market: Market | None, *, kind: StreamKind | None = None) -> list[StreamKey]:
    """The (market, name) pairs a fault on ``stream`` targets; 400 (-1100) if none."""
    keys: list[StreamKey] = []
    for candidate in [market] if market is not None else list(Market):
        try:
            parsed = parse_stream(stream, candidate)
        except UnknownStreamError:
            continue
        if kind is None or parsed.type.kind is kind:
            keys.append((candidate, parsed.name))
    if not keys:
        wanted = f"a {kind.value} stream" if kind is not None else "a stream"
        where = f" on {market.value}" if market is not None else ""
        raise BinanceError(ErrorCode.ILLEGAL_CHARS, f"{stream!r} is not {wanted}{where}")
    return keys
