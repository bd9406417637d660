"""The document safe (documents, cases, opt-ins, favourites, idempotent requests) and the
subjects procedures received, by which they address a person in the safe API.

Revision ID: 0012_safe
Revises: 0011_userinfo_signing
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekonto.store.types

revision: str = "0012_safe"
down_revision: str | None = "0011_userinfo_signing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oidc_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_uri", sa.String(length=500), nullable=True))

    op.create_table(
        "idempotent_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotent_requests")),
        sa.UniqueConstraint("client_id", "key", name=op.f("uq_idempotent_requests_client_id_key")),
    )
    with op.batch_alter_table("idempotent_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotent_requests_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "favourites",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_favourites_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_favourites")),
        sa.UniqueConstraint(
            "person_id", "client_id", name=op.f("uq_favourites_person_id_client_id")
        ),
    )
    op.create_table(
        "procedure_subjects",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column(
            "first_seen_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_procedure_subjects_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedure_subjects")),
        sa.UniqueConstraint(
            "client_id", "subject", name=op.f("uq_procedure_subjects_client_id_subject")
        ),
    )
    with op.batch_alter_table("procedure_subjects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_procedure_subjects_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "safe_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("client_name", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column(
            "created_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_safe_cases_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safe_cases")),
        sa.UniqueConstraint(
            "client_id",
            "person_id",
            "reference",
            name=op.f("uq_safe_cases_client_id_person_id_reference"),
        ),
    )
    with op.batch_alter_table("safe_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safe_cases_person_id"), ["person_id"], unique=False)

    op.create_table(
        "safe_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("client_name", sa.String(length=200), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("case_reference", sa.String(length=100), nullable=True),
        sa.Column("reply_by", sa.Date(), nullable=True),
        sa.Column("blob_id", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("read_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_safe_documents_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safe_documents")),
        sa.UniqueConstraint("blob_id", name=op.f("uq_safe_documents_blob_id")),
    )
    with op.batch_alter_table("safe_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_safe_documents_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_safe_documents_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "safe_opt_ins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column(
            "opted_in_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_safe_opt_ins_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safe_opt_ins")),
        sa.UniqueConstraint(
            "person_id", "client_id", name=op.f("uq_safe_opt_ins_person_id_client_id")
        ),
    )
    op.create_table(
        "safe_case_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column(
            "occurred_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["safe_cases.id"],
            name=op.f("fk_safe_case_events_case_id_safe_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safe_case_events")),
    )
    with op.batch_alter_table("safe_case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_safe_case_events_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oidc_clients", schema=None) as batch_op:
        batch_op.drop_column("client_uri")

    with op.batch_alter_table("safe_case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safe_case_events_case_id"))

    op.drop_table("safe_case_events")
    op.drop_table("safe_opt_ins")
    with op.batch_alter_table("safe_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safe_documents_person_id"))
        batch_op.drop_index(batch_op.f("ix_safe_documents_created_at"))

    op.drop_table("safe_documents")
    with op.batch_alter_table("safe_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_safe_cases_person_id"))

    op.drop_table("safe_cases")
    with op.batch_alter_table("procedure_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procedure_subjects_person_id"))

    op.drop_table("procedure_subjects")
    op.drop_table("favourites")
    with op.batch_alter_table("idempotent_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotent_requests_created_at"))

    op.drop_table("idempotent_requests")
