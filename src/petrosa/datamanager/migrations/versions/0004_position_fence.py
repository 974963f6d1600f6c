"""Positions remember the highest fencing token they were written with.

Revision ID: 0004_position_fence
Revises: 0003_trading_state
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_position_fence"
down_revision = "0003_trading_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: positions written before fencing existed accept any token.
    op.add_column("positions", sa.Column("fence", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Batch mode: SQLite rebuilds the table, servers drop the column in place.
    with op.batch_alter_table("positions") as batch:
        batch.drop_column("fence")
