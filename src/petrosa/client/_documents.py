"""Generic document calls (``/collections/...``): named collections of JSON documents."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter

from petrosa.client._batch import MAX_BATCH_BYTES, MAX_BATCH_ROWS, check_chunk_rows, chunked_within
from petrosa.client._core import Requester
from petrosa.client._json import encode_json, parse_as
from petrosa.client._page import Page
from petrosa.contracts.documents import (
    ID_FIELD,
    CollectionDeclared,
    CollectionList,
    CollectionSummary,
    DeleteResult,
    Document,
    InsertOneResult,
    InsertResult,
    QueryResult,
    UpdateResult,
)

COLLECTIONS_PATH = "/collections"
DEFAULT_QUERY_LIMIT = 100
"""Documents per query when no limit is given, as on the server (which allows 5,000)."""
DEFAULT_ITER_PAGE_SIZE = 1_000
"""Documents per request while iterating."""

Filter = Mapping[str, Any]
"""``{"field": value}`` or ``{"field": {"$gt": 1}}``; see docs/api.md, "Generic documents"."""
Sort = Sequence[tuple[str, int]]
"""``[("field", 1), ("other", -1)]``: 1 ascending, -1 descending."""

_DECLARED = TypeAdapter(CollectionDeclared)
_COLLECTIONS = TypeAdapter(CollectionList)
_INSERTED = TypeAdapter(InsertResult)
_INSERTED_ONE = TypeAdapter(InsertOneResult)
_QUERIED = TypeAdapter(QueryResult)
_UPDATED = TypeAdapter(UpdateResult)
_DELETED = TypeAdapter(DeleteResult)


class DocumentsMixin(Requester):
    """Collections of JSON documents, filtered, sorted and paged by the Data Manager in SQL."""

    async def declare_collection(
        self, name: str, unique_key: Sequence[str] | None = None
    ) -> CollectionDeclared:
        """Create a collection, optionally with a unique key (field paths).

        Declaring it again the same way is fine; another unique key raises ``ConflictError``.
        Collections are also created by their first insert, without a unique key.
        """
        key = None if unique_key is None else list(unique_key)
        body = await self._request("PUT", _collection_path(name), json={"unique_key": key})
        return parse_as(_DECLARED, body, "collection declaration")

    async def list_collections(self) -> list[CollectionSummary]:
        """Every collection with its unique key and document count, by name."""
        body = await self._request("GET", COLLECTIONS_PATH)
        return parse_as(_COLLECTIONS, body, "collection list").collections

    async def insert(
        self,
        collection: str,
        documents: Iterable[Mapping[str, Any]],
        *,
        chunk_rows: int = MAX_BATCH_ROWS,
        chunk_bytes: int = MAX_BATCH_BYTES,
    ) -> InsertResult:
        """Insert documents, at most ``chunk_rows`` and ``chunk_bytes`` (encoded) per
        request; returns the summed result.

        Each request is all or nothing. Documents without ``_id`` get one here, so a
        request retried after a lost answer cannot store them twice; documents whose
        ``_id`` or unique key is already stored are skipped and counted as duplicates.
        """
        check_chunk_rows(chunk_rows)
        path = _collection_path(collection, "insert")
        inserted = duplicates = 0
        ids: list[str] = []
        for chunk in chunked_within(documents, chunk_rows, chunk_bytes, _with_id, _encoded_size):
            body = await self._request("POST", path, json={"documents": chunk})
            result = parse_as(_INSERTED, body, "insert result")
            inserted += result.inserted
            duplicates += result.duplicates
            ids += result.ids
        return InsertResult(inserted=inserted, ids=ids, duplicates=duplicates)

    async def insert_one(self, collection: str, document: Mapping[str, Any]) -> InsertOneResult:
        """Insert one document; ``inserted`` is False when it was a duplicate."""
        body = await self._request(
            "POST",
            _collection_path(collection, "insert_one"),
            json={"document": _with_id(document)},
        )
        return parse_as(_INSERTED_ONE, body, "insert result")

    async def query(
        self,
        collection: str,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        limit: int = DEFAULT_QUERY_LIMIT,
        projection: Sequence[str] | None = None,
        cursor: str | None = None,
    ) -> Page[Document]:
        """One page of matching documents; pass ``next_cursor`` back as ``cursor`` for more.

        Unsorted queries return documents in insertion order. ``projection`` lists the
        field paths to return (``_id`` always comes back). Unknown collection:
        ``NotFoundError``.
        """
        request = {
            "filter": dict(filter or {}),
            "sort": None if sort is None else [[field, direction] for field, direction in sort],
            "limit": limit,
            "projection": None if projection is None else list(projection),
            "cursor": cursor,
        }
        body = await self._request("POST", _collection_path(collection, "query"), json=request)
        result = parse_as(_QUERIED, body, "query result")
        return Page(result.documents, result.next_cursor)

    async def iter_query(
        self,
        collection: str,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        projection: Sequence[str] | None = None,
        page_size: int = DEFAULT_ITER_PAGE_SIZE,
    ) -> AsyncIterator[Document]:
        """Every matching document, fetched page by page following ``next_cursor``."""
        cursor: str | None = None
        while True:
            page = await self.query(
                collection,
                filter,
                sort=sort,
                limit=page_size,
                projection=projection,
                cursor=cursor,
            )
            for document in page:
                yield document
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def update_one(
        self,
        collection: str,
        filter: Filter,
        update: Mapping[str, Any],
        *,
        upsert: bool = False,
    ) -> UpdateResult:
        """Apply ``{"$set": {...}, "$inc": {...}}`` to the first matching document.

        With ``upsert``, no match inserts the filter's equality fields plus the update.
        ``modified`` is 0 when the values were already as requested.
        """
        body = await self._request(
            "POST",
            _collection_path(collection, "update_one"),
            json={"filter": dict(filter), "update": dict(update), "upsert": upsert},
            # Repeating an increment after a lost answer would add it twice.
            idempotent="$inc" not in update,
        )
        return parse_as(_UPDATED, body, "update result")

    async def delete(self, collection: str, filter: Filter, *, many: bool = False) -> int:
        """Delete the first matching document, or all of them with ``many``; returns the count."""
        body = await self._request(
            "POST",
            _collection_path(collection, "delete"),
            json={"filter": dict(filter), "many": many},
            # Deleting "the first match" again after a lost answer would delete another one.
            idempotent=many,
        )
        return parse_as(_DELETED, body, "delete result").deleted


def _collection_path(name: str, action: str | None = None) -> str:
    path = f"{COLLECTIONS_PATH}/{quote(name, safe='')}"
    return path if action is None else f"{path}/{action}"


def _encoded_size(document: dict[str, Any]) -> int:
    return len(encode_json(document))


def _with_id(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the document with an ``_id``, generated here when it has none."""
    if document.get(ID_FIELD) is not None:
        return dict(document)
    return {ID_FIELD: uuid.uuid4().hex, **document}
