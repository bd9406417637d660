"""Registering with the eID card: the card's data wait on the eID run until the form is sent.

Revision ID: 0015_eid_registration
Revises: 0014_eid
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekonto.store.types

revision: str = "0015_eid_registration"
down_revision: str | None = "0014_eid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("eid_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "consumed_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("eid_attempts", schema=None) as batch_op:
        batch_op.drop_column("consumed_at")
        batch_op.drop_column("card")
