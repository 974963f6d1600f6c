"""The trade engine's HTTP API: signals in; orders, positions, P&L and decisions out."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from petrosa import __version__
from petrosa.contracts.market import Symbol
from petrosa.contracts.signals import MarkedPosition, Signal, SignalDecision
from petrosa.contracts.trading import DailyPnl, Identifier, PositionStatus
from petrosa.tradeengine.api_errors import install_error_handlers
from petrosa.tradeengine.reasons import Reason
from petrosa.tradeengine.service import Engine, NoOpenPosition
from petrosa.tradeengine.settings import TradeEngineSettings
from petrosa.tradeengine.wiring import build_engine
from petrosa.webauth import BearerTokens, BodyLimits, RequestGate, requirement

Limit = Annotated[int, Query(ge=1, le=1_000)]


def _tokens(request: Request) -> BearerTokens:
    tokens: BearerTokens = request.app.state.tokens
    return tokens


RequireRead = requirement("read", _tokens)
RequireWrite = requirement("write", _tokens)


def create_app(
    settings: TradeEngineSettings | None = None, engine: Engine | None = None
) -> FastAPI:
    settings = settings or TradeEngineSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = engine if engine is not None else build_engine(settings)
        await running.start()
        app.state.engine = running
        try:
            yield
        finally:
            await running.stop()

    app = FastAPI(title="petrosa trade engine", version=__version__, lifespan=lifespan)
    app.state.tokens = BearerTokens.from_settings(settings.read_tokens, settings.write_tokens)
    install_error_handlers(app)
    app.add_middleware(
        RequestGate, limits=BodyLimits(settings.max_body_bytes), tokens=app.state.tokens
    )

    def engine_of(request: Request) -> Engine:
        running: Engine = request.app.state.engine
        return running

    @app.get("/health/liveness", tags=["health"])
    async def liveness() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/readiness", tags=["health"])
    async def readiness(request: Request) -> JSONResponse:
        """Ready when the Data Manager self-test passed and the DM, the coordination store
        and (when configured) NATS answer. ``problems`` are reason codes
        (``petrosa.tradeengine.reasons``); the failures' own text is in the log only.

        ``degraded`` (still 200): the leader's duties fail for some symbols (listed in
        ``problems``), e.g. a position on a symbol the exchange no longer lists. Every
        replica would fail the same way, and the other symbols are served: taking replicas
        out of service would stop those too without fixing anything."""
        running = engine_of(request)
        problems: list[str] = []
        if running.selftest_reason is not None:
            problems.append(running.selftest_reason.value)
        health = await running.store.health()
        if not health.ready:
            problems.append(Reason.DATA_MANAGER_NOT_READY.value)
        if not await running.locks.ping():
            problems.append(Reason.COORDINATION_UNAVAILABLE.value)
        if running.consumer is not None and not running.consumer.connected:
            problems.append(Reason.NATS_DISCONNECTED.value)
        degraded = running.problems()
        status = "unavailable" if problems else "degraded" if degraded else "ready"
        body = {
            "status": status,
            "problems": problems + degraded,
            "leader": running.election.is_leader,
        }
        return JSONResponse(body, status_code=503 if problems else 200)

    @app.post(
        "/signals", response_model=SignalDecision, tags=["signals"], dependencies=[RequireWrite]
    )
    async def submit(signal: Signal, request: Request) -> SignalDecision:
        """Decide a signal now (the same pipeline as the NATS ingress)."""
        return await engine_of(request).submit(signal)

    @app.get(
        "/decisions",
        response_model=list[SignalDecision],
        tags=["signals"],
        dependencies=[RequireRead],
    )
    async def decisions(request: Request, limit: Limit = 100) -> list[SignalDecision]:
        return await engine_of(request).executor.ledger.decisions(limit)

    @app.get("/orders", tags=["orders"], dependencies=[RequireRead])
    async def orders(request: Request, limit: Limit = 100) -> list[dict[str, Any]]:
        """Orders placed, newest first, each with its signal_id and client order id."""
        return await engine_of(request).executor.ledger.orders(limit)

    @app.get(
        "/positions",
        response_model=list[MarkedPosition],
        tags=["positions"],
        dependencies=[RequireRead],
    )
    async def positions(
        request: Request,
        status: PositionStatus | None = None,
        symbol: Annotated[Symbol | None, Query()] = None,
        limit: Limit = 100,
    ) -> list[MarkedPosition]:
        """Positions, newest first; open ones with their unrealized P&L at the mark price
        now (stored values are refreshed by the leader every minute). An open position
        whose symbol has no mark price now (say, the exchange no longer lists it) shows its
        stored unrealized P&L, ``mark_price`` null and the reason in ``mark_error``."""
        return await engine_of(request).marked_positions(status, symbol, limit)

    @app.post(
        "/positions/{symbol}/close",
        response_model=SignalDecision,
        tags=["positions"],
        dependencies=[RequireWrite],
    )
    async def close_position(
        symbol: Annotated[Symbol, Path()],
        request: Request,
        request_id: Annotated[Identifier | None, Query()] = None,
    ) -> SignalDecision:
        """Close the symbol's open position at market, as a ``close`` signal (decided once:
        a retry with the same ``request_id``, or without one while the same position is
        open, returns the recorded decision as a duplicate)."""
        try:
            return await engine_of(request).close_position(symbol, request_id)
        except NoOpenPosition as missing:
            raise HTTPException(404, str(missing)) from None

    @app.get(
        "/pnl/daily/{date}", response_model=DailyPnl, tags=["positions"], dependencies=[RequireRead]
    )
    async def daily_pnl(date: dt.date, request: Request) -> DailyPnl:
        return await engine_of(request).store.get_daily_pnl(date)

    @app.get("/pnl/days", tags=["positions"], dependencies=[RequireRead])
    async def pnl_days(request: Request, limit: Limit = 30) -> list[dict[str, Any]]:
        """The leader's day documents (opening/closing equity, realized P&L), newest first."""
        return await engine_of(request).rollover.days(limit)

    @app.get("/reconciliation", tags=["positions"], dependencies=[RequireRead])
    async def reconciliation(request: Request) -> dict[str, Any]:
        """The leader's last comparison of stored positions with the exchange's, and the
        symbols its duties currently fail on (empty on other replicas)."""
        running = engine_of(request)
        report = running.reconciliation
        return {
            "checked_at": report.checked_at,
            "differences": report.differences,
            "symbol_failures": running.problems(),
        }

    @app.get("/dead-letters", tags=["signals"], dependencies=[RequireRead])
    async def dead_letters(request: Request, limit: Limit = 100) -> list[dict[str, Any]]:
        """Signal messages the engine gave up on, newest first: the payload (bounded),
        why, and after how many deliveries."""
        return await engine_of(request).dead_letters.latest(limit)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        return Response(
            generate_latest(engine_of(request).metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    return app
