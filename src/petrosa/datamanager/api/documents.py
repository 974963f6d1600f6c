"""Generic document collections: declare, insert, query, update, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from petrosa.contracts.documents import (
    COLLECTION_NAME_PATTERN,
    CollectionDeclared,
    CollectionList,
    DeleteResult,
    InsertOneResult,
    InsertResult,
    QueryResult,
    UpdateResult,
)
from petrosa.datamanager.api.auth import RequireRead, RequireWrite
from petrosa.datamanager.api.deps import domain_store
from petrosa.datamanager.api.responses import OrjsonResponse
from petrosa.datamanager.documents.filters import parse_filter
from petrosa.datamanager.documents.paths import parse_path_list
from petrosa.datamanager.documents.query import parse_query
from petrosa.datamanager.documents.requests import (
    MAX_UNIQUE_KEY_FIELDS,
    DeclareCollection,
    DeleteDocuments,
    InsertDocument,
    InsertDocuments,
    QueryDocuments,
    UpdateDocument,
)
from petrosa.datamanager.documents.store import DocumentStore
from petrosa.datamanager.documents.updates import parse_update
from petrosa.datamanager.documents.values import new_document

router = APIRouter(prefix="/collections", tags=["documents"])

CollectionName = Annotated[
    str, Path(pattern=COLLECTION_NAME_PATTERN, description="e.g. strategy_state")
]


async def document_store(request: Request) -> DocumentStore:
    return domain_store(request, "documents", DocumentStore)


Store = Annotated[DocumentStore, Depends(document_store)]


@router.put(
    "/{name}",
    response_model=CollectionDeclared,
    dependencies=[RequireWrite],
    summary="Create a collection, optionally with a unique key; redeclaring the same is fine",
)
async def declare_collection(
    name: CollectionName, store: Store, body: DeclareCollection | None = None
) -> CollectionDeclared:
    raw_key = None if body is None else body.unique_key
    key = None
    if raw_key is not None:
        key = parse_path_list(
            raw_key, ["body", "unique_key"], max_paths=MAX_UNIQUE_KEY_FIELDS, allow_id=False
        )
    return await store.declare(name, key)


@router.get(
    "",
    response_model=CollectionList,
    dependencies=[RequireRead],
    summary="Every collection with its unique key and document count",
)
async def list_collections(store: Store) -> CollectionList:
    return await store.list_collections()


@router.post(
    "/{name}/insert",
    response_model=InsertResult,
    dependencies=[RequireWrite],
    summary="Insert documents (all or nothing); stored _ids or unique keys count as duplicates",
)
async def insert(name: CollectionName, body: InsertDocuments, store: Store) -> InsertResult:
    documents = [
        new_document(document, ["body", "documents", index])
        for index, document in enumerate(body.documents)
    ]
    return await store.insert(name, documents)


@router.post(
    "/{name}/insert_one",
    response_model=InsertOneResult,
    dependencies=[RequireWrite],
    summary="Insert one document; inserted is false when it was a duplicate",
)
async def insert_one(name: CollectionName, body: InsertDocument, store: Store) -> InsertOneResult:
    document = new_document(body.document, ["body", "document"])
    result = await store.insert(name, [document])
    return InsertOneResult(inserted=result.inserted == 1, id=document.doc_id)


@router.post(
    "/{name}/query",
    response_model=QueryResult,
    dependencies=[RequireRead],
    summary="Filter, sort, project and page through documents (translated to SQL)",
)
async def query(name: CollectionName, body: QueryDocuments, store: Store) -> Response:
    parsed = parse_query(
        name,
        filter=body.filter,
        sort=body.sort,
        limit=body.limit,
        projection=body.projection,
        cursor=body.cursor,
    )
    result = await store.query(name, parsed)
    # Serialized directly: re-validating up to 5,000 documents against the model is waste.
    return OrjsonResponse({"documents": result.documents, "next_cursor": result.next_cursor})


@router.post(
    "/{name}/update_one",
    response_model=UpdateResult,
    dependencies=[RequireWrite],
    summary="Apply $set / $inc to the first matching document, or upsert one",
)
async def update_one(name: CollectionName, body: UpdateDocument, store: Store) -> UpdateResult:
    conditions = parse_filter(body.filter, ["body", "filter"])
    change = parse_update(body.update, ["body", "update"])
    return await store.update_one(name, conditions, change, upsert=body.upsert)


@router.post(
    "/{name}/delete",
    response_model=DeleteResult,
    dependencies=[RequireWrite],
    summary="Delete the first matching document, or every match with many=true",
)
async def delete(name: CollectionName, body: DeleteDocuments, store: Store) -> DeleteResult:
    conditions = parse_filter(body.filter, ["body", "filter"])
    return await store.delete(name, conditions, many=body.many)
