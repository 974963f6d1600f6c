"""The configuration audit trail: what changed, written in the changing transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from petrosa.contracts.trading import canonical_json
from petrosa.datamanager.storage.trading_schema import config_audit


@dataclass(frozen=True)
class AuditChange:
    """One changed value as canonical JSON; None means absent (not the JSON null)."""

    key: str
    old_json: str | None
    new_json: str | None


def parameter_changes(old: dict[str, Any], new: dict[str, Any]) -> list[AuditChange]:
    """Added, removed and modified parameters, by name; equal JSON values are no change."""
    changes = []
    for name in sorted(old.keys() | new.keys()):
        before = canonical_json(old[name]) if name in old else None
        after = canonical_json(new[name]) if name in new else None
        if before != after:
            changes.append(AuditChange(key=name, old_json=before, new_json=after))
    return changes


async def write_audit(
    conn: AsyncConnection,
    scope: str,
    changes: Sequence[AuditChange],
    version: int,
    changed_by: str,
    changed_at: dt.datetime,
) -> None:
    """Append one entry per change, all stamped with the version they produced."""
    if not changes:
        return
    await conn.execute(
        insert(config_audit),
        [
            {
                "scope": scope,
                "config_key": change.key,
                "old_value_json": change.old_json,
                "new_value_json": change.new_json,
                "version": version,
                "changed_by": changed_by,
                "changed_at": changed_at,
            }
            for change in changes
        ],
    )
