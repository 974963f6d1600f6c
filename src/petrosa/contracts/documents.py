"""Generic-document wire models: the answers of the ``/collections`` endpoints.

Documents themselves are plain JSON objects (``dict[str, Any]``) with a string ``_id``.
Requests are built by the client as plain JSON; the Data Manager validates them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

COLLECTION_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
"""Collection names: a lowercase letter, then up to 62 lowercase letters, digits or ``_``."""
ID_FIELD = "_id"
"""The field holding a document's identity: a string, given by the writer or generated."""
MAX_DOCUMENT_ID_LENGTH = 128

Document = dict[str, Any]
SortDirection = Literal[1, -1]
"""1 ascending, -1 descending."""


class CollectionDeclared(BaseModel):
    """Answer to ``PUT /collections/{name}``."""

    name: str
    unique_key: list[str] | None
    """Field paths whose values identify a document; None when only ``_id`` does."""
    created: bool
    """False when the collection already existed with this declaration."""


class CollectionSummary(BaseModel):
    """One entry of ``GET /collections``."""

    name: str
    unique_key: list[str] | None
    count: int = Field(ge=0)


class CollectionList(BaseModel):
    collections: list[CollectionSummary]
    """Sorted by name."""


class InsertResult(BaseModel):
    """Answer to an insert: documents written, and those skipped as already stored."""

    inserted: int = Field(ge=0)
    ids: list[str]
    """``_id`` of each document written, in request order (skipped ones are not listed)."""
    duplicates: int = Field(ge=0)
    """Documents skipped because their ``_id`` or unique key was already stored."""


class InsertOneResult(BaseModel):
    inserted: bool
    """False when the document was a duplicate (same ``_id`` or unique key) and was skipped."""
    id: str
    """The document's ``_id``."""


class QueryResult(BaseModel):
    documents: list[Document]
    next_cursor: str | None
    """Opaque position after the last document, or None on the last page."""


class UpdateResult(BaseModel):
    matched: int = Field(ge=0)
    """Documents the filter selected (0 or 1 for ``update_one``)."""
    modified: int = Field(ge=0)
    """Documents whose content changed (0 when the update left the values as they were)."""
    upserted_id: str | None = None
    """``_id`` of the document an upsert inserted, else None."""


class DeleteResult(BaseModel):
    deleted: int = Field(ge=0)
