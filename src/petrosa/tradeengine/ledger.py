"""The processed-signal ledger, kept in the Data Manager (collection ``tradeengine_signals``).

One document per signal id (its ``_id``): the unique key that makes execution at-most-once
across replicas and redeliveries. It also records how far execution got (``stage``), so a
replica that takes over after a crash resumes instead of starting again, and the decision.
Updates are fenced: they only apply while the document's ``fence`` equals the caller's lock
token, so a replica whose lease was lost cannot overwrite its successor.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from petrosa.client import DataManagerClient
from petrosa.contracts.signals import Signal, SignalDecision

SIGNALS = "tradeengine_signals"
ORDERS = "tradeengine_orders"


class Stage(StrEnum):
    CLAIMED = "claimed"
    ORDERED = "ordered"
    DONE = "done"


class FenceLost(Exception):
    """Another replica holds a newer lock token for this signal: stop, do not ack."""


class Ledger:
    def __init__(self, store: DataManagerClient, replica: str) -> None:
        self.store = store
        self.replica = replica

    async def prepare(self) -> None:
        await self.store.declare_collection(SIGNALS)
        await self.store.declare_collection(ORDERS, unique_key=["client_order_id"])

    async def get(self, signal_id: str) -> dict[str, Any] | None:
        page = await self.store.query(SIGNALS, {"_id": signal_id}, limit=1)
        return dict(page[0]) if page else None

    async def claim(self, signal: Signal, token: int) -> dict[str, Any]:
        """The signal's record, created or taken over under ``token``."""
        record = {
            "_id": signal.id,
            "stage": Stage.CLAIMED.value,
            "fence": token,
            "owner": self.replica,
            "symbol": signal.symbol,
            "strategy_id": signal.strategy_id,
            "action": signal.action.value,
            "received_at": _now(),
        }
        created = await self.store.insert_one(SIGNALS, record)
        if created.inserted:
            return {**record, "created": True}
        existing = await self.get(signal.id)
        if existing is None:
            raise FenceLost(f"signal {signal.id} vanished while being claimed")
        if existing.get("stage") != Stage.DONE.value:
            result = await self.store.update_one(
                SIGNALS,
                {"_id": signal.id, "fence": {"$lt": token}},
                {"$set": {"fence": token, "owner": self.replica}},
            )
            if result.matched == 0:
                raise FenceLost(f"signal {signal.id} is being handled under a newer lock token")
            existing["fence"] = token
        return existing

    async def advance(self, signal_id: str, token: int, stage: Stage, **fields: Any) -> None:
        result = await self.store.update_one(
            SIGNALS,
            {"_id": signal_id, "fence": token},
            {"$set": {"stage": stage.value, **fields}},
        )
        if result.matched == 0:
            raise FenceLost(f"lost the fence on signal {signal_id}")

    async def decide(self, signal_id: str, token: int, decision: SignalDecision) -> None:
        await self.advance(signal_id, token, Stage.DONE, decision=decision.model_dump(mode="json"))

    async def record_order(self, order: dict[str, Any]) -> None:
        await self.store.insert_one(ORDERS, {"_id": order["client_order_id"], **order})

    async def decisions(self, limit: int) -> list[SignalDecision]:
        page = await self.store.query(
            SIGNALS, {"stage": Stage.DONE.value}, sort=[("decision.decided_at", -1)], limit=limit
        )
        return [SignalDecision.model_validate(doc["decision"]) for doc in page]

    async def orders(self, limit: int) -> list[dict[str, Any]]:
        page = await self.store.query(ORDERS, sort=[("update_time", -1)], limit=limit)
        return [dict(doc) for doc in page]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()
