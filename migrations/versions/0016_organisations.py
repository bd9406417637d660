"""Organisations, their documents, verification case history, members and invitations; the
client setting that acting for an organisation needs a verified one.

Revision ID: 0016_organisations
Revises: 0015_eid_registration
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekonto.store.types

revision: str = "0016_organisations"
down_revision: str | None = "0015_eid_registration"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_form", sa.String(length=100), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("house_number", sa.String(length=20), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=False),
        sa.Column("city", sa.String(length=200), nullable=False),
        sa.Column("register_court", sa.String(length=100), nullable=True),
        sa.Column("register_type", sa.String(length=5), nullable=True),
        sa.Column("register_number", sa.String(length=20), nullable=True),
        sa.Column("trade_registration", sa.String(length=100), nullable=True),
        sa.Column("tax_number", sa.String(length=30), nullable=True),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column(
            "submitted_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("decided_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authorities.id"],
            name=op.f("fk_organisations_authority_id_authorities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisations_authority_id"), ["authority_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_organisations_state"), ["state"], unique=False)

    op.create_table(
        "organisation_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("blob_id", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column(
            "uploaded_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_documents_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_documents")),
        sa.UniqueConstraint("blob_id", name=op.f("uq_organisation_documents_blob_id")),
    )
    with op.batch_alter_table("organisation_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisation_documents_organisation_id"),
            ["organisation_id"],
            unique=False,
        )

    op.create_table(
        "organisation_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "accepted_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("accepted_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_invitations_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_invitations")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_organisation_invitations_token_digest")),
    )
    with op.batch_alter_table("organisation_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisation_invitations_organisation_id"),
            ["organisation_id"],
            unique=False,
        )

    op.create_table(
        "organisation_members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column(
            "created_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_members_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_organisation_members_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_members")),
        sa.UniqueConstraint(
            "organisation_id",
            "person_id",
            name=op.f("uq_organisation_members_organisation_id_person_id"),
        ),
    )
    with op.batch_alter_table("organisation_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisation_members_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organisation_members_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "verification_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("message", sa.String(length=1000), nullable=True),
        sa.Column(
            "occurred_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_verification_events_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_events")),
    )
    with op.batch_alter_table("verification_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_verification_events_organisation_id"), ["organisation_id"], unique=False
        )

    with op.batch_alter_table("oidc_clients", schema=None) as batch_op:
        batch_op.add_column(
            # Existing procedures keep working as before: no verified organisation required.
            sa.Column(
                "require_verified_organisation",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("oidc_clients", schema=None) as batch_op:
        batch_op.drop_column("require_verified_organisation")

    with op.batch_alter_table("verification_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_events_organisation_id"))

    op.drop_table("verification_events")
    with op.batch_alter_table("organisation_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_members_person_id"))
        batch_op.drop_index(batch_op.f("ix_organisation_members_organisation_id"))

    op.drop_table("organisation_members")
    with op.batch_alter_table("organisation_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_invitations_organisation_id"))

    op.drop_table("organisation_invitations")
    with op.batch_alter_table("organisation_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_documents_organisation_id"))

    op.drop_table("organisation_documents")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_state"))
        batch_op.drop_index(batch_op.f("ix_organisations_authority_id"))

    op.drop_table("organisations")
