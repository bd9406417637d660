"""eID cards bound to accounts (by a digest of their pseudonym) and the eID runs in progress.

Revision ID: 0014_eid
Revises: 0013_staff
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekonto.store.types

revision: str = "0014_eid"
down_revision: str | None = "0013_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "eid_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("eid_session_id", sa.String(length=200), nullable=False),
        sa.Column("browser_digest", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("next_path", sa.String(length=500), nullable=False),
        sa.Column(
            "created_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "finished_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_eid_attempts_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eid_attempts")),
        sa.UniqueConstraint("eid_session_id", name=op.f("uq_eid_attempts_eid_session_id")),
    )
    op.create_table(
        "eid_bindings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("pseudonym_digest", sa.String(length=64), nullable=False),
        sa.Column("document_type", sa.String(length=5), nullable=False),
        sa.Column("bound_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_eid_bindings_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eid_bindings")),
        sa.UniqueConstraint("person_id", name=op.f("uq_eid_bindings_person_id")),
        sa.UniqueConstraint("pseudonym_digest", name=op.f("uq_eid_bindings_pseudonym_digest")),
    )


def downgrade() -> None:
    op.drop_table("eid_bindings")
    op.drop_table("eid_attempts")
