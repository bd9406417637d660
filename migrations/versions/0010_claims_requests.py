"""Carry the userinfo part of the claims parameter (verified_claims) to the tokens.

Revision ID: 0010_claims_requests
Revises: 0009_code_replays
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_claims_requests"
down_revision: str | None = "0009_code_replays"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("authorization_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claims_request", sa.JSON(), nullable=True))

    with op.batch_alter_table("issued_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claims_request", sa.JSON(), nullable=True))

    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claims_request", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_column("claims_request")

    with op.batch_alter_table("issued_tokens", schema=None) as batch_op:
        batch_op.drop_column("claims_request")

    with op.batch_alter_table("authorization_codes", schema=None) as batch_op:
        batch_op.drop_column("claims_request")
