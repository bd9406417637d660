"""Registry residents (mock data set), identity checks, PIN letters.

Revision ID: 0003_identity_checks
Revises: 0002_accounts
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekonto.store.types

revision: str = "0003_identity_checks"
down_revision: str | None = "0002_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_residents",
        sa.Column("resident_id", sa.String(length=20), nullable=False),
        sa.Column("academic_title", sa.String(length=50), nullable=True),
        sa.Column("given_names", sa.String(length=200), nullable=False),
        sa.Column("family_name", sa.String(length=200), nullable=False),
        sa.Column("birth_name", sa.String(length=200), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("birth_place", sa.String(length=200), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("house_number", sa.String(length=20), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=False),
        sa.Column("city", sa.String(length=200), nullable=False),
        sa.Column("municipality", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_registry_residents")),
    )
    with op.batch_alter_table("registry_residents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_residents_birth_date"), ["birth_date"], unique=False
        )

    op.create_table(
        "identity_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("resident_id", sa.String(length=20), nullable=True),
        sa.Column("registry_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", servicekonto.store.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", servicekonto.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", servicekonto.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_identity_checks_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_checks")),
        sa.UniqueConstraint("person_id", name=op.f("uq_identity_checks_person_id")),
    )
    with op.batch_alter_table("identity_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_checks_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_identity_checks_state"), ["state"], unique=False)

    op.create_table(
        "pin_letters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("letter_number", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=300), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("house_number", sa.String(length=20), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=False),
        sa.Column("city", sa.String(length=200), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=False),
        sa.Column("pin_sealed", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", servicekonto.store.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", servicekonto.store.types.UTCDateTime(), nullable=False),
        sa.Column("exported_at", servicekonto.store.types.UTCDateTime(), nullable=True),
        sa.Column("posted_at", servicekonto.store.types.UTCDateTime(), nullable=True),
        sa.Column("closed_at", servicekonto.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_pin_letters_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pin_letters")),
        sa.UniqueConstraint("letter_number", name=op.f("uq_pin_letters_letter_number")),
    )
    with op.batch_alter_table("pin_letters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pin_letters_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pin_letters_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pin_letters_status"), ["status"], unique=False)

    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("identity_verified_at", servicekonto.store.types.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_column("identity_verified_at")

    with op.batch_alter_table("pin_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pin_letters_status"))
        batch_op.drop_index(batch_op.f("ix_pin_letters_person_id"))
        batch_op.drop_index(batch_op.f("ix_pin_letters_batch_id"))

    op.drop_table("pin_letters")
    with op.batch_alter_table("identity_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_checks_state"))
        batch_op.drop_index(batch_op.f("ix_identity_checks_next_attempt_at"))

    op.drop_table("identity_checks")
    with op.batch_alter_table("registry_residents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_residents_birth_date"))

    op.drop_table("registry_residents")
