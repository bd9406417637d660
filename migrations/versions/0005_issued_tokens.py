"""Issued access tokens, recorded for revocation and introspection.

Revision ID: 0005_issued_tokens
Revises: 0004_clients_keys
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekonto.store.types

revision: str = "0005_issued_tokens"
down_revision: str | None = "0004_clients_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "issued_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("created_at", servicekonto.store.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", servicekonto.store.types.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", servicekonto.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_tokens")),
        sa.UniqueConstraint("jti", name=op.f("uq_issued_tokens_jti")),
    )
    with op.batch_alter_table("issued_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issued_tokens_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_issued_tokens_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_issued_tokens_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("issued_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_tokens_person_id"))
        batch_op.drop_index(batch_op.f("ix_issued_tokens_expires_at"))
        batch_op.drop_index(batch_op.f("ix_issued_tokens_client_id"))

    op.drop_table("issued_tokens")
