"""Binance's "general" endpoints that spot and futures share: ``/ping`` and ``/time``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from petrosa.exchange.simulator.params import query
from petrosa.exchange.simulator.responses import JsonResponse
from petrosa.exchange.simulator.venue import venue_of


async def ping(request: Request) -> JsonResponse:
    """Connectivity check: ``{}``."""
    query(request)
    return JsonResponse({})


async def server_time(request: Request) -> JsonResponse:
    """``{"serverTime": ms}``: the simulated clock."""
    query(request)
    return JsonResponse({"serverTime": venue_of(request).now_ms()})


def add_general_routes(router: APIRouter) -> None:
    """Register ``/ping`` and ``/time`` on a market's router."""
    router.add_api_route("/ping", ping, methods=["GET"])
    router.add_api_route("/time", server_time, methods=["GET"])
