"""Positions, daily P&L and configuration: the trade engine's state, over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from petrosa.contracts.market import SYMBOL_PATTERN
from petrosa.contracts.trading import (
    CONFIG_KEY_PATTERN,
    IDENTIFIER_PATTERN,
    MAX_FENCE,
    MAX_JSON_BYTES,
    STRATEGY_ID_PATTERN,
    ConfigAuditList,
    ConfigValue,
    ConfigValueIn,
    DailyPnl,
    DailyPnlSet,
    Position,
    PositionClose,
    PositionIn,
    PositionList,
    PositionStatus,
    PositionWriteResult,
    RealizedPnlIn,
    RealizedPnlResult,
    StrategyConfig,
    StrategyConfigIn,
)
from petrosa.datamanager.api.auth import RequireRead, RequireWrite
from petrosa.datamanager.api.deps import domain_store
from petrosa.datamanager.errors import InvalidInput
from petrosa.datamanager.json_rules import check_json, check_text
from petrosa.datamanager.settings import MAX_READ_LIMIT
from petrosa.datamanager.trading.stores import TradingStore

DEFAULT_LIST_LIMIT = 100

PositionId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]
StrategyIdPath = Annotated[str, Path(pattern=STRATEGY_ID_PATTERN)]
ConfigKeyPath = Annotated[str, Path(pattern=CONFIG_KEY_PATTERN)]
DatePath = Annotated[str, Path(pattern=r"^\d{4}-\d{2}-\d{2}$", description="UTC date YYYY-MM-DD")]
SymbolQuery = Annotated[str | None, Query(pattern=SYMBOL_PATTERN, description="e.g. BTCUSDT")]
Limit = Annotated[int, Query(ge=1, le=MAX_READ_LIMIT)]
FenceQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_FENCE,
        description="The writer's lease-lock fencing token; older than the stored one → 409",
    ),
]

positions_router = APIRouter(prefix="/positions", tags=["positions"])
pnl_router = APIRouter(prefix="/pnl", tags=["daily P&L"])
config_router = APIRouter(prefix="/config", tags=["configuration"])


async def trading_store(request: Request) -> TradingStore:
    return domain_store(request, "trading", TradingStore)


Store = Annotated[TradingStore, Depends(trading_store)]


@positions_router.put("/{position_id}", dependencies=[RequireWrite])
async def upsert_position(
    position_id: PositionId, body: PositionIn, store: Store, fence: FenceQuery = None
) -> PositionWriteResult:
    """Create or update a position; the same content again changes nothing; reopening → 409.

    A ``fence`` older than the position's → 409 (``code: stale_fence``), nothing written.
    """
    check_json(body.metadata, ["body", "metadata"], max_bytes=MAX_JSON_BYTES)
    return await store.positions.upsert(position_id, body, fence=fence)


@positions_router.post("/{position_id}/close", dependencies=[RequireWrite])
async def close_position(
    position_id: PositionId, body: PositionClose, store: Store, fence: FenceQuery = None
) -> PositionWriteResult:
    """Close an open position; a closed one is returned unchanged; unknown → 404.

    A ``fence`` older than the position's → 409 (``code: stale_fence``), nothing written.
    """
    return await store.positions.close(position_id, body, fence=fence)


@positions_router.get("/{position_id}", dependencies=[RequireRead])
async def get_position(position_id: PositionId, store: Store) -> Position:
    return await store.positions.get(position_id)


@positions_router.get("", dependencies=[RequireRead])
async def list_positions(
    store: Store,
    status: PositionStatus | None = None,
    strategy_id: Annotated[str | None, Query(pattern=STRATEGY_ID_PATTERN)] = None,
    symbol: SymbolQuery = None,
    limit: Limit = DEFAULT_LIST_LIMIT,
) -> PositionList:
    """Positions matching every given filter, newest ``opened_at`` first."""
    found = await store.positions.find(
        status=status, strategy_id=strategy_id, symbol=symbol, limit=limit
    )
    return PositionList(positions=found)


@pnl_router.get("/daily/{date}", dependencies=[RequireRead])
async def get_daily_pnl(date: DatePath, store: Store) -> DailyPnl:
    """The date's realized total; ``"0"`` with no events when nothing was recorded."""
    return await store.pnl.get(_parse_date(date))


@pnl_router.put("/daily/{date}", dependencies=[RequireWrite])
async def set_daily_pnl(date: DatePath, body: DailyPnlSet, store: Store) -> DailyPnl:
    """Replace the date's total; events recorded afterwards add to it."""
    return await store.pnl.set(_parse_date(date), body.value)


@pnl_router.post("/realized", dependencies=[RequireWrite])
async def record_realized_pnl(body: RealizedPnlIn, store: Store) -> RealizedPnlResult:
    """Add the amount to the UTC date of ``occurred_at``, once per ``event_id``."""
    return await store.pnl.record(body)


@config_router.get("/app/{key}", dependencies=[RequireRead])
async def get_app_config(key: ConfigKeyPath, store: Store) -> ConfigValue:
    return await store.config.get_app(key)


@config_router.put("/app/{key}", dependencies=[RequireWrite])
async def set_app_config(key: ConfigKeyPath, body: ConfigValueIn, store: Store) -> ConfigValue:
    """Set an application value; an unchanged value adds no audit entry."""
    check_json(body.value, ["body", "value"], max_bytes=MAX_JSON_BYTES)
    check_text(body.changed_by, ["body", "changed_by"])
    return await store.config.set_app(key, body.value, changed_by=body.changed_by)


@config_router.get("/strategies/{strategy_id}", dependencies=[RequireRead])
async def get_strategy_config(
    strategy_id: StrategyIdPath, store: Store, symbol: SymbolQuery = None
) -> StrategyConfig:
    """Global parameters overlaid with the symbol's overrides; 404 if neither exists."""
    return await store.config.get_strategy(strategy_id, symbol)


@config_router.put("/strategies/{strategy_id}", dependencies=[RequireWrite])
async def set_strategy_config(
    strategy_id: StrategyIdPath, body: StrategyConfigIn, store: Store
) -> StrategyConfig:
    """Replace the strategy's global parameters, or the symbol's overrides."""
    check_json(body.parameters, ["body", "parameters"], max_bytes=MAX_JSON_BYTES)
    check_text(body.changed_by, ["body", "changed_by"])
    return await store.config.set_strategy(
        strategy_id, body.symbol, body.parameters, changed_by=body.changed_by
    )


@config_router.get("/audit", dependencies=[RequireRead])
async def config_audit(
    store: Store,
    scope: Annotated[str | None, Query(max_length=160)] = None,
    key: Annotated[str | None, Query(pattern=CONFIG_KEY_PATTERN)] = None,
    limit: Limit = DEFAULT_LIST_LIMIT,
) -> ConfigAuditList:
    """Configuration changes, newest first; ``scope`` is ``app`` or ``strategy:<id>[:<SYMBOL>]``."""
    if scope is not None:
        check_text(scope, ["query", "scope"])
    return ConfigAuditList(entries=await store.config.audit(scope=scope, key=key, limit=limit))


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(["path", "date"], f"{text!r} is not a calendar date") from None


router = APIRouter()
router.include_router(positions_router)
router.include_router(pnl_router)
router.include_router(config_router)
