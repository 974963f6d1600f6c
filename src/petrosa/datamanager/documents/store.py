"""Generic document collections on the configured database.

Every write to a collection first locks the collection's row (``SELECT ... FOR UPDATE``
on servers; SQLite's single writer serializes anyway), so checks such as "is this unique
key stored already?" are exact and counts are truthful even with concurrent writers.
The unique constraints on ``(collection, doc_id)`` and ``(collection, unique_hash)``
remain the final guard. Reads take no locks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import delete, exc, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from petrosa.contracts.documents import (
    ID_FIELD,
    CollectionDeclared,
    CollectionList,
    CollectionSummary,
    DeleteResult,
    Document,
    InsertResult,
    QueryResult,
    UpdateResult,
)
from petrosa.datamanager.data_errors import data_error_code
from petrosa.datamanager.documents.fields import FieldSql
from petrosa.datamanager.documents.filters import Condition, equality_fields
from petrosa.datamanager.documents.paths import FieldPath, parse_path
from petrosa.datamanager.documents.query import Position, Query
from petrosa.datamanager.documents.translate import DocumentSql
from petrosa.datamanager.documents.updates import Update, apply_update, upsert_body
from petrosa.datamanager.documents.values import (
    MISSING,
    NewDocument,
    canonical_json,
    new_id,
    sort_position,
    unique_hash,
)
from petrosa.datamanager.errors import Conflict, NotFound
from petrosa.datamanager.storage.database import Database, rerun_on_conflict
from petrosa.datamanager.storage.documents_schema import document_collections, documents

_IN_LIST_CHUNK = 1_000
"""Values per ``IN (...)`` when MySQL looks up stored ids and keys."""
_CREATE_ATTEMPTS = 2
_ON_CONFLICT_DIALECTS: dict[str, Any] = {"postgresql": postgresql, "sqlite": sqlite}
"""Dialects whose INSERT can skip conflicting rows and report the ones it inserted."""
T = TypeVar("T")


@dataclass(frozen=True)
class Collection:
    name: str
    unique_key: tuple[FieldPath, ...] | None

    @property
    def key_names(self) -> list[str] | None:
        return None if self.unique_key is None else [str(path) for path in self.unique_key]


class DocumentStore:
    """Named collections of JSON documents; filters, sorts and pages run in SQL."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._sql = DocumentSql(documents, db.dialect)

    # Collections

    @rerun_on_conflict
    async def declare(
        self, name: str, unique_key: tuple[FieldPath, ...] | None
    ) -> CollectionDeclared:
        """Create the collection, or confirm it exists with the same unique key (else 409)."""
        collection, created = await self._create_if_missing(name, unique_key)
        if collection.unique_key != unique_key:
            raise Conflict(
                f"collection {name!r} exists with unique key {collection.key_names}, "
                f"not {Collection(name, unique_key).key_names}"
            )
        return CollectionDeclared(name=name, unique_key=collection.key_names, created=created)

    async def list_collections(self) -> CollectionList:
        """Every collection with its unique key and document count."""
        t, d = document_collections, documents
        async with self._db.read() as conn:
            rows = (await conn.execute(select(t.c.name, t.c.unique_key).order_by(t.c.name))).all()
            counted = await conn.execute(
                select(d.c.collection, func.count()).group_by(d.c.collection)
            )
            counts: dict[str, int] = {name: int(count) for name, count in counted.all()}
        return CollectionList(
            collections=[
                CollectionSummary(name=name, unique_key=key, count=counts.get(name, 0))
                for name, key in rows
            ]
        )

    # Writes

    @rerun_on_conflict
    async def insert(self, name: str, new_documents: Sequence[NewDocument]) -> InsertResult:
        """Store the documents, skipping those whose ``_id`` or unique key is stored already.

        All or nothing: one invalid document (e.g. missing a unique-key field) writes none,
        and a collection this insert would create is created only if the insert succeeds.
        """

        async def work(conn: AsyncConnection, collection: Collection) -> list[dict[str, Any]]:
            candidates = _deduplicated(_rows(collection, new_documents))
            inserted = await self._insert_new(conn, name, candidates)
            return [row for row in candidates if row["doc_id"] in inserted]

        written = await self._write(name, work, create=True)
        ids = [row["doc_id"] for row in written]
        return InsertResult(inserted=len(ids), ids=ids, duplicates=len(new_documents) - len(ids))

    @rerun_on_conflict
    async def update_one(
        self, name: str, conditions: tuple[Condition, ...], change: Update, *, upsert: bool
    ) -> UpdateResult:
        """Update the first matching document (by insertion order), or upsert one."""
        planned = None
        if upsert:
            # Validate the would-be document before anything is written.
            planned = upsert_body(
                equality_fields(conditions),
                change,
                filter_loc=["body", "filter"],
                update_loc=["body", "update"],
            )

        async def work(conn: AsyncConnection, collection: Collection) -> UpdateResult:
            match = (
                await conn.execute(
                    select(documents.c.seq, documents.c.body, documents.c.unique_hash)
                    .where(self._sql.where(name, conditions))
                    .order_by(documents.c.seq)
                    .limit(1)
                )
            ).first()
            if match is not None:
                return await self._apply(conn, collection, match, change)
            if planned is None:
                return UpdateResult(matched=0, modified=0)
            upsert_id, upsert_doc = planned
            new = NewDocument(upsert_id or new_id(), upsert_doc, ("body", "update"))
            row = _rows(collection, [new])[0]
            if not await self._not_stored(conn, name, [row]):
                raise Conflict(
                    f"the upserted document's {ID_FIELD} or unique key is already stored"
                    " in a document the filter does not match"
                )
            await conn.execute(insert(documents), [row])
            return UpdateResult(matched=0, modified=0, upserted_id=new.doc_id)

        return await self._write(name, work, create=upsert)

    async def _apply(
        self, conn: AsyncConnection, collection: Collection, match: Sequence[Any], change: Update
    ) -> UpdateResult:
        seq, body, stored_hash = match
        changed = apply_update(body, change, ["body", "update"])
        if canonical_json(changed) == canonical_json(body):
            return UpdateResult(matched=1, modified=0)
        new_hash = (
            None
            if collection.unique_key is None
            else unique_hash(changed, collection.unique_key, ["body", "update"])
        )
        if new_hash is not None and new_hash != stored_hash:
            taken = await conn.execute(
                select(documents.c.seq).where(
                    documents.c.collection == collection.name,
                    documents.c.unique_hash == new_hash,
                )
            )
            if taken.first() is not None:
                raise Conflict("another document already has this unique key")
        await conn.execute(
            update(documents)
            .where(documents.c.seq == seq)
            .values(body=changed, unique_hash=new_hash)
        )
        return UpdateResult(matched=1, modified=1)

    @rerun_on_conflict
    async def delete(
        self, name: str, conditions: tuple[Condition, ...], *, many: bool
    ) -> DeleteResult:
        """Delete the first matching document (by insertion order), or every match."""
        async with self._db.write() as conn:
            await self._locked(conn, name)
            where = self._sql.where(name, conditions)
            if not many:
                first = await conn.execute(
                    select(documents.c.seq).where(where).order_by(documents.c.seq).limit(1)
                )
                seq = first.scalar()
                if seq is None:
                    return DeleteResult(deleted=0)
                where = documents.c.seq == seq
            result = await conn.execute(delete(documents).where(where))
            return DeleteResult(deleted=result.rowcount)

    # Reads

    async def query(self, name: str, query: Query) -> QueryResult:
        """One page of matching documents; ``next_cursor`` resumes after its last one."""
        page = self._sql.page(name, query)
        async with self._db.read() as conn:
            rows = (await conn.execute(page.statement)).all()
            if not rows and not await _exists(conn, name):
                raise NotFound(f"no collection named {name!r}")
        documents_out = [_document(row, page.shown) for row in rows[: query.limit]]
        next_cursor = None
        if len(rows) > query.limit:
            last = rows[query.limit - 1]
            sort_values = last[len(last) - len(page.sort_fields) :]
            position = Position(
                tuple(
                    sort_position(field.decode(raw))
                    for field, raw in zip(page.sort_fields, sort_values, strict=True)
                ),
                seq=last[0],
            )
            next_cursor = query.cursor_after(position)
        return QueryResult(documents=documents_out, next_cursor=next_cursor)

    # Helpers

    async def _create_if_missing(
        self, name: str, unique_key: tuple[FieldPath, ...] | None
    ) -> tuple[Collection, bool]:
        """The collection, created with ``unique_key`` when absent; True when created here."""
        async with self._db.read() as conn:
            known = await _load(conn, name, lock=False)
        if known is not None:
            return known, False
        for _ in range(_CREATE_ATTEMPTS):
            try:
                async with self._db.write() as conn:
                    existing = await _load(conn, name, lock=False)
                    if existing is not None:
                        return existing, False
                    return await _create(conn, name, unique_key), True
            except exc.IntegrityError:
                continue  # created concurrently: read the winner's declaration
        raise Conflict(f"collection {name!r} is being created concurrently; retry")

    async def _write(
        self,
        name: str,
        work: Callable[[AsyncConnection, Collection], Awaitable[T]],
        *,
        create: bool,
    ) -> T:
        """Run ``work`` in one transaction holding the collection's lock.

        With ``create``, a missing collection is created in that same transaction, so a
        write that fails leaves no empty collection behind.
        """
        for attempt in range(1, _CREATE_ATTEMPTS + 1):
            created = False
            try:
                async with self._db.write() as conn:
                    collection = await _load(conn, name, lock=True)
                    if collection is None:
                        if not create:
                            raise NotFound(f"no collection named {name!r}")
                        collection, created = await _create(conn, name, None), True
                    return await work(conn, collection)
            except exc.IntegrityError as error:
                if data_error_code(error) is not None:
                    raise  # a refused value (e.g. NULL where none may be), not a duplicate
                if created and attempt < _CREATE_ATTEMPTS:
                    continue  # the collection was created concurrently: write into it
                raise Conflict(
                    "a document with this _id or unique key was stored concurrently"
                ) from None
        raise AssertionError("unreachable")

    async def _locked(self, conn: AsyncConnection, name: str) -> Collection:
        collection = await _load(conn, name, lock=True)
        if collection is None:
            raise NotFound(f"no collection named {name!r}")
        return collection

    async def _insert_new(
        self, conn: AsyncConnection, name: str, rows: list[dict[str, Any]]
    ) -> set[str]:
        """Insert the rows whose ``_id`` and unique key are new; returns their ``_id``s.

        PostgreSQL and SQLite skip stored keys in the INSERT itself (each row probes the
        unique indexes). MySQL has no INSERT ... RETURNING, so it looks them up first; the
        collection lock makes that exact.
        """
        if not rows:
            return set()
        if self._db.dialect in _ON_CONFLICT_DIALECTS:
            stmt = _ON_CONFLICT_DIALECTS[self._db.dialect].insert(documents)
            stmt = stmt.on_conflict_do_nothing().returning(documents.c.doc_id)
            return set((await conn.execute(stmt, rows)).scalars())
        fresh = await self._not_stored(conn, name, rows)
        if fresh:
            await conn.execute(insert(documents), fresh)
        return {row["doc_id"] for row in fresh}

    async def _not_stored(
        self, conn: AsyncConnection, name: str, rows: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The rows whose ``_id`` and unique key are both new to the collection."""
        taken_ids = await _stored_values(conn, name, "doc_id", [row["doc_id"] for row in rows])
        hashes = [row["unique_hash"] for row in rows if row["unique_hash"] is not None]
        taken_hashes = await _stored_values(conn, name, "unique_hash", hashes)
        return [
            row
            for row in rows
            if row["doc_id"] not in taken_ids and row["unique_hash"] not in taken_hashes
        ]


def _rows(collection: Collection, new_documents: Sequence[NewDocument]) -> list[dict[str, Any]]:
    """Table rows; computing unique keys may reject a document (422 at its loc)."""
    key = collection.unique_key
    return [
        {
            "collection": collection.name,
            "doc_id": doc.doc_id,
            "body": doc.body,
            "unique_hash": None if key is None else unique_hash(doc.body, key, doc.loc),
        }
        for doc in new_documents
    ]


def _deduplicated(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch without repeats of an earlier document's ``_id`` or unique key."""
    seen_ids: set[str] = set()
    seen_hashes: set[str] = set()
    kept = []
    for row in rows:
        doc_id, key_hash = row["doc_id"], row["unique_hash"]
        if doc_id in seen_ids or key_hash in seen_hashes:
            continue
        seen_ids.add(doc_id)
        if key_hash is not None:
            seen_hashes.add(key_hash)
        kept.append(row)
    return kept


async def _stored_values(
    conn: AsyncConnection, name: str, column_name: str, values: list[str]
) -> set[str]:
    column = documents.c[column_name]
    found: set[str] = set()
    for start in range(0, len(values), _IN_LIST_CHUNK):
        chunk = values[start : start + _IN_LIST_CHUNK]
        result = await conn.execute(
            select(column).where(documents.c.collection == name, column.in_(chunk))
        )
        found.update(result.scalars())
    return found


async def _load(conn: AsyncConnection, name: str, *, lock: bool) -> Collection | None:
    t = document_collections
    stmt = select(t.c.unique_key).where(t.c.name == name)
    if lock:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    key = row[0]
    paths = None if key is None else tuple(parse_path(text, ["unique_key"]) for text in key)
    return Collection(name, paths)


async def _create(
    conn: AsyncConnection, name: str, unique_key: tuple[FieldPath, ...] | None
) -> Collection:
    collection = Collection(name, unique_key)
    await conn.execute(
        insert(document_collections).values(
            name=name, unique_key=collection.key_names, created_at=dt.datetime.now(dt.UTC)
        )
    )
    return collection


async def _exists(conn: AsyncConnection, name: str) -> bool:
    t = document_collections
    return (await conn.execute(select(t.c.name).where(t.c.name == name))).first() is not None


def _document(row: Sequence[Any], shown: list[tuple[FieldPath, FieldSql]] | None) -> Document:
    """The document as the client sees it: ``_id`` first, then the (projected) fields."""
    document: Document = {ID_FIELD: row[1]}
    if shown is None:
        document.update(row[2])
        return document
    for (path, field), raw in zip(shown, row[2 : 2 + len(shown)], strict=True):
        value = field.decode(raw)
        if value is MISSING:
            continue
        node = document
        for part in path.parts[:-1]:
            node = node.setdefault(part, {})
        node[path.parts[-1]] = value
    return document
