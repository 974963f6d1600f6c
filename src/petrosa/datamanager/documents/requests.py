"""Request bodies of the ``/collections`` endpoints (their shape; meaning is checked later).

Pydantic checks the structure and the limits; filters, updates and paths are then
validated by ``filters.py``, ``updates.py`` and ``paths.py``, which name the offending
field in their 422s.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from petrosa.datamanager.settings import MAX_BATCH_ROWS, MAX_READ_LIMIT

DEFAULT_QUERY_LIMIT = 100
MAX_UNIQUE_KEY_FIELDS = 16


class DeclareCollection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unique_key: list[str] | None = Field(default=None, min_length=1)
    """Field paths whose values identify a document; None: only ``_id`` does."""


class InsertDocuments(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH_ROWS)


class InsertDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: dict[str, Any]


class QueryDocuments(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filter: dict[str, Any] = Field(default_factory=dict)
    sort: list[tuple[str, Literal[1, -1]]] | None = None
    """``[["field", 1 or -1], ...]``: ascending or descending, in priority order."""
    limit: int = Field(default=DEFAULT_QUERY_LIMIT, ge=1, le=MAX_READ_LIMIT)
    projection: list[str] | None = None
    """Field paths to return (``_id`` always comes back); None returns whole documents."""
    cursor: str | None = None


class UpdateDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filter: dict[str, Any] = Field(default_factory=dict)
    update: dict[str, Any]
    """``{"$set": {path: value}, "$inc": {path: number}}``."""
    upsert: bool = False


class DeleteDocuments(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filter: dict[str, Any] = Field(default_factory=dict)
    many: bool = False
