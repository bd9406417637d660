"""SAML: service providers registered from their metadata, the AuthnRequest IDs already seen
(replay), and which login sessions reached which provider (single logout).

Revision ID: 0017_saml
Revises: 0016_organisations
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekonto.store.types

revision: str = "0017_saml"
down_revision: str | None = "0016_organisations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saml_seen_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.String(length=500), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column(
            "expires_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saml_seen_requests")),
        sa.UniqueConstraint(
            "entity_id", "request_id", name=op.f("uq_saml_seen_requests_entity_id_request_id")
        ),
    )
    with op.batch_alter_table("saml_seen_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saml_seen_requests_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "saml_service_providers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.String(length=500), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("metadata_xml", sa.Text(), nullable=False),
        sa.Column("metadata_url", sa.String(length=500), nullable=True),
        sa.Column("require_signed_requests", sa.Boolean(), nullable=False),
        sa.Column("signature_algorithm", sa.String(length=100), nullable=False),
        sa.Column("minimum_trust_level", sa.Integer(), nullable=False),
        sa.Column("consent_required", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "disabled_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authorities.id"],
            name=op.f("fk_saml_service_providers_authority_id_authorities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saml_service_providers")),
        sa.UniqueConstraint("entity_id", name=op.f("uq_saml_service_providers_entity_id")),
    )
    with op.batch_alter_table("saml_service_providers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saml_service_providers_authority_id"), ["authority_id"], unique=False
        )

    op.create_table(
        "saml_participations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("login_session_id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.String(length=500), nullable=False),
        sa.Column("name_id", sa.String(length=200), nullable=False),
        sa.Column("session_index", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("ended_at", servicekonto.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["login_session_id"],
            ["login_sessions.id"],
            name=op.f("fk_saml_participations_login_session_id_login_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saml_participations")),
    )
    with op.batch_alter_table("saml_participations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saml_participations_login_session_id"),
            ["login_session_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("saml_participations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saml_participations_login_session_id"))

    op.drop_table("saml_participations")
    with op.batch_alter_table("saml_service_providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saml_service_providers_authority_id"))

    op.drop_table("saml_service_providers")
    with op.batch_alter_table("saml_seen_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saml_seen_requests_expires_at"))

    op.drop_table("saml_seen_requests")
