"""Attribute releases: what went to which procedure, for the person to see.

Revision ID: 0007_releases
Revises: 0006_code_flow
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekonto.store.types

revision: str = "0007_releases"
down_revision: str | None = "0006_code_flow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attribute_releases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("client_name", sa.String(length=200), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("released_at", servicekonto.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_attribute_releases_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribute_releases")),
    )
    with op.batch_alter_table("attribute_releases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attribute_releases_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_attribute_releases_released_at"), ["released_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("attribute_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attribute_releases_released_at"))
        batch_op.drop_index(batch_op.f("ix_attribute_releases_person_id"))

    op.drop_table("attribute_releases")
