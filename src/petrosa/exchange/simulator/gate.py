"""The rate-limit gate: every market request is weighed before any route sees it.

Pure ASGI middleware (no per-request task overhead). Requests under ``/api/v3`` (spot) and
``/fapi/v1``, ``/fapi/v2``, ``/fapi/v3`` (futures) are admitted, or refused with 429 / 418
and Binance's body, by their market's ``MarketBudget``; answers carry
``X-MBX-USED-WEIGHT-1M`` (header names are case-insensitive, so this is also
``x-mbx-used-weight-1m``; one header, never two, so a client reading it gets one number).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from petrosa.exchange.simulator.errors import ErrorCode, error_response
from petrosa.exchange.simulator.instruments import MarketKind
from petrosa.exchange.simulator.weights import (
    WEIGHT_WINDOW_MS,
    Decision,
    MarketBudget,
    Verdict,
    request_cost,
)

USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
RATE_LIMITED_STATUS = 429
BANNED_STATUS = 418
MARKET_PREFIXES: dict[str, MarketKind] = {
    "/api/v3/": MarketKind.SPOT,
    "/fapi/v1/": MarketKind.FUTURES,
    "/fapi/v2/": MarketKind.FUTURES,
    "/fapi/v3/": MarketKind.FUTURES,
}
_MS_PER_MINUTE = 60_000


def _refusal_message(budget: MarketBudget, decision: Decision) -> str:
    if decision.verdict is Verdict.BANNED:
        return (
            f"Way too much request weight used; IP banned until {decision.banned_until_ms}."
            " Please use WebSocket Streams for live updates to avoid bans."
        )
    if decision.limiter == "weight":
        minutes = WEIGHT_WINDOW_MS // _MS_PER_MINUTE
        return (
            f"Too much request weight used; current limit is {budget.weight_limit} request"
            f" weight per {minutes} MINUTE. Please use WebSocket Streams for live updates"
            " to avoid polling the API."
        )
    limit, window_ms = budget.extra_limit(decision.limiter)
    return (
        f"Too many requests; current limit is {limit} requests per"
        f" {window_ms // _MS_PER_MINUTE} MINUTE."
    )


class RateLimitGate:
    """Admit or refuse market requests; stamp the used weight on every market answer."""

    def __init__(self, app: ASGIApp, budgets: Mapping[MarketKind, MarketBudget]) -> None:
        self.app = app
        self.budgets = budgets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        prefix = next((p for p in MARKET_PREFIXES if path.startswith(p)), None)
        if prefix is None:
            await self.app(scope, receive, send)
            return
        market = MARKET_PREFIXES[prefix]
        query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        budget = self.budgets[market]
        endpoint = path[len(prefix) :]
        decision = budget.admit(request_cost(market, endpoint, query, scope["method"]))
        used = {USED_WEIGHT_HEADER: str(decision.used_weight)}
        if decision.verdict is not Verdict.ALLOWED:
            status = BANNED_STATUS if decision.verdict is Verdict.BANNED else RATE_LIMITED_STATUS
            headers = {**used, "Retry-After": str(decision.retry_after_s)}
            response = error_response(
                ErrorCode.TOO_MANY_REQUESTS,
                _refusal_message(budget, decision),
                status=status,
                headers=headers,
            )
            await response(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = [(k.lower().encode(), v.encode()) for k, v in used.items()]
                message = {**message, "headers": [*message.get("headers", []), *raw]}
            await send(message)

        await self.app(scope, receive, stamped)
