"""OIDC clients (procedures) and token signing keys.

Revision ID: 0004_clients_keys
Revises: 0003_identity_checks
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import servicekonto.store.types

revision: str = "0004_clients_keys"
down_revision: str | None = "0003_identity_checks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=10), nullable=False),
        sa.Column("private_jwk_sealed", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", servicekonto.store.types.UTCDateTime(), nullable=False),
        sa.Column("activates_at", servicekonto.store.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", servicekonto.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_keys_kid")),
    )
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_keys_alg"), ["alg"], unique=False)

    op.create_table(
        "oidc_clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=True),
        sa.Column("secret_rotated_at", servicekonto.store.types.UTCDateTime(), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("grant_types", sa.JSON(), nullable=False),
        sa.Column("token_endpoint_auth_method", sa.String(length=40), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("jwks_uri", sa.String(length=500), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("default_trust_level", sa.Integer(), nullable=False),
        sa.Column("minimum_trust_level", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=10), nullable=False),
        sa.Column("consent_required", sa.Boolean(), nullable=False),
        sa.Column("id_token_signed_response_alg", sa.String(length=10), nullable=False),
        sa.Column("backchannel_logout_uri", sa.String(length=500), nullable=True),
        sa.Column("created_at", servicekonto.store.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", servicekonto.store.types.UTCDateTime(), nullable=False),
        sa.Column("disabled_at", servicekonto.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authorities.id"],
            name=op.f("fk_oidc_clients_authority_id_authorities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_oidc_clients_client_id")),
    )
    with op.batch_alter_table("oidc_clients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oidc_clients_authority_id"), ["authority_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("oidc_clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_clients_authority_id"))

    op.drop_table("oidc_clients")
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_keys_alg"))

    op.drop_table("signing_keys")
