"""The TA bot's HTTP side: health, metrics, and the validated configuration endpoints.

``PUT /config/service`` and ``PUT /config/strategies/{id}`` are the way to change the
configuration: they validate before anything reaches the Data Manager and refuse a bad
value with 422 naming the field (``{"detail": "parameters.rsi_max: …", "errors": […]}``).
Writes need a write token when tokens are configured (``TABOT_WRITE_TOKENS``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Body, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from petrosa import __version__
from petrosa.client import DataManagerClient, DataManagerError
from petrosa.contracts.market import Symbol
from petrosa.tabot.service.config import ConfigRefused
from petrosa.tabot.service.service import TaBot
from petrosa.tabot.service.settings import TabotSettings
from petrosa.webauth import BearerTokens, BodyLimits, RequestGate, requirement


def _tokens(request: Request) -> BearerTokens:
    tokens: BearerTokens = request.app.state.tokens
    return tokens


RequireRead = requirement("read", _tokens)
RequireWrite = requirement("write", _tokens)


def create_app(settings: TabotSettings | None = None, bot: TaBot | None = None) -> FastAPI:
    settings = settings or TabotSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = bot if bot is not None else TaBot(settings, DataManagerClient())
        await running.start()
        app.state.bot = running
        try:
            yield
        finally:
            await running.stop()

    app = FastAPI(title="petrosa TA bot", version=__version__, lifespan=lifespan)
    app.state.tokens = BearerTokens.from_settings(settings.read_tokens, settings.write_tokens)
    app.add_middleware(
        RequestGate, limits=BodyLimits(settings.max_body_bytes), tokens=app.state.tokens
    )

    def bot_of(request: Request) -> TaBot:
        running: TaBot = request.app.state.bot
        return running

    @app.get("/health/liveness", tags=["health"])
    async def liveness() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/readiness", tags=["health"])
    async def readiness(request: Request) -> JSONResponse:
        """Ready when the Data Manager answers ready, NATS is connected, the shared
        consumer is pulling and a configuration is loaded; ``problems`` say what is not."""
        ready, body = await bot_of(request).readiness()
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["health"])
    async def metrics(request: Request) -> Response:
        return Response(
            generate_latest(bot_of(request).metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    @app.get("/config", tags=["config"], dependencies=[RequireRead])
    async def current_config(request: Request) -> JSONResponse:
        """The configuration in use (the last valid one), with any refused stored values."""
        config = bot_of(request).config
        if config is None:
            return JSONResponse({"detail": "no configuration loaded yet"}, status_code=503)
        return JSONResponse(config.describe())

    @app.put("/config/service", tags=["config"], dependencies=[RequireWrite])
    async def set_service(
        request: Request, document: Annotated[dict[str, Any], Body()]
    ) -> JSONResponse:
        """Replace the service document (enabled, symbols, timeframes, bounds)."""
        running = bot_of(request)
        try:
            service = await running.configs.set_service(document)
        except ConfigRefused as refused:
            return _refused(refused)
        except DataManagerError as error:
            return JSONResponse({"detail": f"data manager: {error}"}, status_code=503)
        running.reload_soon()
        return JSONResponse(service.model_dump(mode="json"))

    @app.put("/config/strategies/{strategy_id}", tags=["config"], dependencies=[RequireWrite])
    async def set_strategy(
        request: Request,
        strategy_id: str,
        parameters: Annotated[dict[str, Any], Body(embed=True)],
        symbol: Annotated[Symbol | None, Query()] = None,
    ) -> JSONResponse:
        """Replace a strategy's parameters, globally or for one symbol."""
        running = bot_of(request)
        try:
            params = await running.configs.set_strategy(strategy_id, parameters, symbol=symbol)
        except KeyError:
            return JSONResponse({"detail": f"unknown strategy {strategy_id!r}"}, status_code=404)
        except ConfigRefused as refused:
            return _refused(refused)
        except DataManagerError as error:
            return JSONResponse({"detail": f"data manager: {error}"}, status_code=503)
        running.reload_soon()
        return JSONResponse(params.model_dump(mode="json"))

    return app


def _refused(refused: ConfigRefused) -> JSONResponse:
    return JSONResponse({"detail": str(refused), "errors": refused.errors}, status_code=422)
