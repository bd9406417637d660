"""Staff roles at authorities, and the in-person identity checks they record.

Revision ID: 0013_staff
Revises: 0012_safe
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekonto.store.types

revision: str = "0013_staff"
down_revision: str | None = "0012_safe"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "in_person_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("staff_person_id", sa.Uuid(), nullable=False),
        sa.Column("document_type", sa.String(length=30), nullable=False),
        sa.Column("document_number_last4", sa.String(length=4), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column(
            "checked_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authorities.id"],
            name=op.f("fk_in_person_checks_authority_id_authorities"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_in_person_checks_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_person_id"],
            ["persons.id"],
            name=op.f("fk_in_person_checks_staff_person_id_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_in_person_checks")),
    )
    with op.batch_alter_table("in_person_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_in_person_checks_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "staff_memberships",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column(
            "granted_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("granted_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authorities.id"],
            name=op.f("fk_staff_memberships_authority_id_authorities"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_staff_memberships_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_memberships")),
        sa.UniqueConstraint(
            "person_id",
            "authority_id",
            "role",
            name=op.f("uq_staff_memberships_person_id_authority_id_role"),
        ),
    )
    with op.batch_alter_table("staff_memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_memberships_authority_id"), ["authority_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_staff_memberships_person_id"), ["person_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_memberships_person_id"))
        batch_op.drop_index(batch_op.f("ix_staff_memberships_authority_id"))

    op.drop_table("staff_memberships")
    with op.batch_alter_table("in_person_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_in_person_checks_person_id"))

    op.drop_table("in_person_checks")
