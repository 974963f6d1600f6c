"""Trading signals for trade-engine tests: readable ids, stamped now unless told."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from petrosa.contracts.signals import Signal


def signal_body(
    symbol: str = "BTCUSDT",
    action: str = "buy",
    price: Decimal | str = Decimal(100),
    index: int | None = None,
    *,
    strategy: str = "test",
    timestamp: dt.datetime | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A signal as sent on the wire, with the id ``<strategy>-<symbol>-<index>`` (a random
    one without ``index``); ``fields`` are added or replace the defaults."""
    suffix = uuid.uuid4().hex if index is None else str(index)
    return {
        "signal_id": f"{strategy}-{symbol}-{suffix}",
        "strategy_id": strategy,
        "symbol": symbol,
        "action": action,
        "confidence": 0.7,
        "price": str(price),
        "timestamp": (timestamp or dt.datetime.now(dt.UTC)).isoformat(),
        **fields,
    }


def signal(symbol: str, action: str, price: Decimal, index: int, **options: Any) -> Signal:
    """:func:`signal_body` (same options) as the engine receives it."""
    return Signal.model_validate(signal_body(symbol, action, price, index, **options))
