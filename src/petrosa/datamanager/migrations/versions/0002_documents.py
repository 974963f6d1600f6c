"""Generic document collections: collections and their documents.

Revision ID: 0002_documents
Revises: 0001_market_data
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision = "0002_documents"
down_revision = "0001_market_data"
branch_labels = None
depends_on = None

_NAME = 63
_ID = 128


# Frozen copies of the column layouts in storage (types.py, documents_schema.py), so this
# revision never changes under it.
def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _utc_datetime() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=False).with_variant(mysql.DATETIME(fsp=6), "mysql")


def _document_id() -> sa.types.TypeEngine[Any]:
    # Byte-wise comparison everywhere: VARBINARY of UTF-8 on MySQL, "C" collation on PostgreSQL.
    return (
        sa.String(_ID)
        .with_variant(mysql.VARBINARY(_ID * 4), "mysql")
        .with_variant(sa.String(_ID, collation="C"), "postgresql")
    )


def upgrade() -> None:
    op.create_table(
        "document_collections",
        sa.Column("name", sa.String(_NAME), nullable=False),
        sa.Column("unique_key", _json(), nullable=True),
        sa.Column("created_at", _utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_document_collections"),
    )
    op.create_table(
        "documents",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("collection", sa.String(_NAME), nullable=False),
        sa.Column("doc_id", _document_id(), nullable=False),
        sa.Column("body", _json(), nullable=False),
        sa.Column("unique_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_documents"),
        sa.ForeignKeyConstraint(
            ["collection"], ["document_collections.name"], name="fk_documents_collection"
        ),
        sa.UniqueConstraint("collection", "doc_id", name="uq_documents_collection_doc_id"),
        sa.UniqueConstraint(
            "collection", "unique_hash", name="uq_documents_collection_unique_hash"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_documents_collection_seq", "documents", ["collection", "seq"])


def downgrade() -> None:
    op.drop_index("ix_documents_collection_seq", table_name="documents")
    op.drop_table("documents")
    op.drop_table("document_collections")
