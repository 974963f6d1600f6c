"""Trading-state calls: positions, daily P&L, configuration (``/positions``, ``/pnl``, ``/config``).

Every write is idempotent on the server (by position id, event id, or value), so each one is
safe to retry after a timeout: a repeated upsert or close changes nothing, and a repeated
realized-P&L event is never counted twice.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter

from petrosa.client._core import Requester
from petrosa.client._json import parse_as
from petrosa.contracts.trading import (
    ConfigAuditEntry,
    ConfigAuditList,
    ConfigValue,
    DailyPnl,
    Position,
    PositionClose,
    PositionIn,
    PositionList,
    PositionStatus,
    PositionWriteResult,
    RealizedPnlIn,
    RealizedPnlResult,
    StrategyConfig,
)

DEFAULT_LIST_LIMIT = 100
"""Positions or audit entries per list call when no limit is given, as on the server."""
OPEN_POSITIONS_LIMIT = 5_000
"""The server's largest page (``MAX_READ_LIMIT``): ``get_open_positions`` asks for all of it."""

_WRITE_RESULT = TypeAdapter(PositionWriteResult)
_POSITION = TypeAdapter(Position)
_POSITIONS = TypeAdapter(PositionList)
_DAILY = TypeAdapter(DailyPnl)
_REALIZED = TypeAdapter(RealizedPnlResult)
_CONFIG_VALUE = TypeAdapter(ConfigValue)
_STRATEGY_CONFIG = TypeAdapter(StrategyConfig)
_AUDIT = TypeAdapter(ConfigAuditList)


def _segment(value: str) -> str:
    """One URL path segment, escaped."""
    return quote(value, safe="")


class TradingStateMixin(Requester):
    """Positions, daily realized P&L, and audited application/strategy configuration."""

    async def upsert_position(
        self, position_id: str, position: PositionIn, *, fence: int | None = None
    ) -> PositionWriteResult:
        """Create or update a position; ``changed`` is False when it already held this content.

        ``fence`` is the fencing token of the caller's lease lock: when the position holds a
        newer one, nothing is written and ``StaleFenceError`` is raised. Without it the write
        applies as it always did. Reopening a closed position raises ``ConflictError``.
        """
        body = position.model_dump(mode="json")
        path = f"/positions/{_segment(position_id)}"
        data = await self._request("PUT", path, params={"fence": fence}, json=body)
        return parse_as(_WRITE_RESULT, data, "position write result")

    async def close_position(
        self, position_id: str, close: PositionClose, *, fence: int | None = None
    ) -> PositionWriteResult:
        """Close an open position; closing it again returns it unchanged (``changed`` False).

        ``fence`` as for ``upsert_position``. An unknown position raises ``NotFoundError``.
        """
        path = f"/positions/{_segment(position_id)}/close"
        body = close.model_dump(mode="json")
        data = await self._request("POST", path, params={"fence": fence}, json=body)
        return parse_as(_WRITE_RESULT, data, "position write result")

    async def get_position(self, position_id: str) -> Position | None:
        """The position, or None when it does not exist."""
        path = f"/positions/{_segment(position_id)}"
        data = await self._request("GET", path, not_found_ok=True)
        return None if data is None else parse_as(_POSITION, data, "position")

    async def list_positions(
        self,
        *,
        status: PositionStatus | str | None = None,
        strategy_id: str | None = None,
        symbol: str | None = None,
        limit: int = DEFAULT_LIST_LIMIT,
    ) -> list[Position]:
        """Positions matching every given filter, newest ``opened_at`` first."""
        params = {
            "status": None if status is None else str(status),
            "strategy_id": strategy_id,
            "symbol": symbol,
            "limit": limit,
        }
        data = await self._request("GET", "/positions", params=params)
        return parse_as(_POSITIONS, data, "position list").positions

    async def get_open_positions(
        self, *, strategy_id: str | None = None, symbol: str | None = None
    ) -> list[Position]:
        """Every open position (up to the server's page cap), optionally filtered."""
        return await self.list_positions(
            status=PositionStatus.OPEN,
            strategy_id=strategy_id,
            symbol=symbol,
            limit=OPEN_POSITIONS_LIMIT,
        )

    async def get_daily_pnl(self, date: dt.date) -> DailyPnl:
        """The realized P&L total of a UTC date (zero when nothing was recorded)."""
        data = await self._request("GET", f"/pnl/daily/{date.isoformat()}")
        return parse_as(_DAILY, data, "daily P&L")

    async def update_daily_pnl(self, date: dt.date, value: Decimal | int | str) -> DailyPnl:
        """Replace a UTC date's total; realized-P&L events recorded later add to it."""
        body = {"value": _money_text(value)}
        data = await self._request("PUT", f"/pnl/daily/{date.isoformat()}", json=body)
        return parse_as(_DAILY, data, "daily P&L")

    async def record_realized_pnl(self, event: RealizedPnlIn) -> RealizedPnlResult:
        """Add the amount to its UTC date once per ``event_id``; a repeat has ``recorded`` False."""
        data = await self._request("POST", "/pnl/realized", json=event.model_dump(mode="json"))
        return parse_as(_REALIZED, data, "realized P&L result")

    async def get_app_config(self, key: str) -> ConfigValue | None:
        """An application setting, or None when it was never set."""
        data = await self._request("GET", f"/config/app/{_segment(key)}", not_found_ok=True)
        return None if data is None else parse_as(_CONFIG_VALUE, data, "config value")

    async def set_app_config(self, key: str, value: Any, *, changed_by: str) -> ConfigValue:
        """Set an application setting (any JSON value); an unchanged value is not audited."""
        body = {"value": value, "changed_by": changed_by}
        data = await self._request("PUT", f"/config/app/{_segment(key)}", json=body)
        return parse_as(_CONFIG_VALUE, data, "config value")

    async def get_strategy_config(
        self, strategy_id: str, symbol: str | None = None
    ) -> StrategyConfig | None:
        """Effective parameters (global overlaid with the symbol's), or None if neither exists."""
        path = f"/config/strategies/{_segment(strategy_id)}"
        data = await self._request("GET", path, params={"symbol": symbol}, not_found_ok=True)
        return None if data is None else parse_as(_STRATEGY_CONFIG, data, "strategy config")

    async def set_strategy_config(
        self,
        strategy_id: str,
        parameters: dict[str, Any],
        *,
        symbol: str | None = None,
        changed_by: str,
    ) -> StrategyConfig:
        """Replace the global parameters (no symbol) or one symbol's overrides."""
        body = {"symbol": symbol, "parameters": parameters, "changed_by": changed_by}
        path = f"/config/strategies/{_segment(strategy_id)}"
        data = await self._request("PUT", path, json=body)
        return parse_as(_STRATEGY_CONFIG, data, "strategy config")

    async def get_config_audit(
        self, *, scope: str | None = None, key: str | None = None, limit: int = DEFAULT_LIST_LIMIT
    ) -> list[ConfigAuditEntry]:
        """Configuration changes, newest first; ``scope``: ``app``, ``strategy:<id>[:<SYMBOL>]``."""
        params = {"scope": scope, "key": key, "limit": limit}
        data = await self._request("GET", "/config/audit", params=params)
        return parse_as(_AUDIT, data, "config audit").entries


def _money_text(value: Decimal | int | str) -> str:
    """Money as a decimal string; floats are refused because they are already rounded."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(
            f"money must be a Decimal, int or decimal string, not {type(value).__name__}"
        )
    return format(value, "f") if isinstance(value, Decimal) else str(value)
