"""Signed userinfo responses for the procedures that register an algorithm for them.

Revision ID: 0011_userinfo_signing
Revises: 0010_claims_requests
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_userinfo_signing"
down_revision: str | None = "0010_claims_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oidc_clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("userinfo_signed_response_alg", sa.String(length=10), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("oidc_clients", schema=None) as batch_op:
        batch_op.drop_column("userinfo_signed_response_alg")
