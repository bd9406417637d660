"""Mark replayed authorization codes, voiding their whole token family.

Revision ID: 0009_code_replays
Revises: 0008_client_assertions
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekonto.store.types

revision: str = "0009_code_replays"
down_revision: str | None = "0008_client_assertions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("authorization_codes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("replayed_at", servicekonto.store.types.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("authorization_codes", schema=None) as batch_op:
        batch_op.drop_column("replayed_at")
