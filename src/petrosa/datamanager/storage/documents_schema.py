"""Tables for generic document collections: one row per document, the body as JSON.

``seq`` orders documents by insertion and breaks sort ties, which makes keyset cursors
stable under concurrent inserts. ``unique_hash`` is the SHA-256 of a document's unique-key
values (NULL in collections without one); the database's unique constraint on
``(collection, unique_hash)`` is what keeps a retried insert from storing a second copy.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

from petrosa.contracts.documents import MAX_DOCUMENT_ID_LENGTH
from petrosa.datamanager.storage.metadata import metadata
from petrosa.datamanager.storage.types import JsonDocument, UtcDateTime

COLLECTION_NAME_LENGTH = 63
UNIQUE_HASH_LENGTH = 64
_UTF8_MAX_BYTES = 4


class _StrVarbinary(mysql.VARBINARY):
    """VARBINARY bound from ``str`` as is, instead of being wrapped as ``bytes``."""

    def bind_processor(self, dialect: Dialect) -> None:
        return None


class DocumentId(TypeDecorator[str]):
    """A string compared byte for byte: ``"A" != "a"`` and ``"a" != "a "`` on every engine.

    MySQL/MariaDB collations ignore case or trailing spaces, so there it is VARBINARY
    holding UTF-8; PostgreSQL uses the "C" collation; SQLite compares bytes already.
    Values are bound as ``str`` (the server stores the connection's utf8mb4 bytes):
    aiomysql cannot bind ``bytes`` with current PyMySQL.
    """

    impl = String(MAX_DOCUMENT_ID_LENGTH)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(_StrVarbinary(MAX_DOCUMENT_ID_LENGTH * _UTF8_MAX_BYTES))
        if dialect.name == "postgresql":
            return dialect.type_descriptor(String(MAX_DOCUMENT_ID_LENGTH, collation="C"))
        return dialect.type_descriptor(String(MAX_DOCUMENT_ID_LENGTH))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if isinstance(value, bytes | bytearray):
            return bytes(value).decode()
        return None if value is None else str(value)


document_collections = Table(
    "document_collections",
    metadata,
    Column("name", String(COLLECTION_NAME_LENGTH), primary_key=True),
    Column("unique_key", JsonDocument, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

documents = Table(
    "documents",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column(
        "collection",
        String(COLLECTION_NAME_LENGTH),
        ForeignKey("document_collections.name", name="fk_documents_collection"),
        nullable=False,
    ),
    Column("doc_id", DocumentId(), nullable=False),
    Column("body", JsonDocument, nullable=False),
    Column("unique_hash", String(UNIQUE_HASH_LENGTH), nullable=True),
    UniqueConstraint("collection", "doc_id"),
    UniqueConstraint("collection", "unique_hash"),
    Index("ix_documents_collection_seq", "collection", "seq"),
    sqlite_autoincrement=True,
)
