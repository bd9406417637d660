"""Seen client assertion jtis (private_key_jwt replay protection).

Revision ID: 0008_client_assertions
Revises: 0007_releases
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekonto.store.types

revision: str = "0008_client_assertions"
down_revision: str | None = "0007_releases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "used_client_assertions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires_at", servicekonto.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_used_client_assertions")),
        sa.UniqueConstraint(
            "client_id", "jti", name=op.f("uq_used_client_assertions_client_id_jti")
        ),
    )
    with op.batch_alter_table("used_client_assertions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_used_client_assertions_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("used_client_assertions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_client_assertions_expires_at"))

    op.drop_table("used_client_assertions")
