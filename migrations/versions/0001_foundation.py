"""Foundation: authorities and the append-only audit log.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import servicekonto.store.types

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = servicekonto.store.types.UTCDateTime()

# Audit rows may be added, never changed or removed: enforced by the database itself.
_APPEND_ONLY_MESSAGE = "audit_events is append-only"
_POSTGRES_GUARD = f"""
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{_APPEND_ONLY_MESSAGE}';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
"""
_SQLITE_GUARDS = [
    f"""CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events
    BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY_MESSAGE}'); END"""
    for verb in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    _create_authorities()
    _create_audit_events()
    _guard_audit_events()


def _create_authorities() -> None:
    op.create_table(
        "authorities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "kind IN ('district', 'municipal_association', 'municipality')",
            name=op.f("ck_authorities_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["authorities.id"],
            name=op.f("fk_authorities_parent_id_authorities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorities")),
        sa.UniqueConstraint("slug", name=op.f("uq_authorities_slug")),
    )
    op.create_index(op.f("ix_authorities_parent_id"), "authorities", ["parent_id"])


def _create_audit_events() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("subject_type", sa.String(length=50), nullable=True),
        sa.Column("subject_id", sa.String(length=200), nullable=True),
        sa.Column("authority_id", sa.Uuid(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column(
            "details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"])
    op.create_index(op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_subject", "audit_events", ["subject_type", "subject_id"])


def _guard_audit_events() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_GUARD)
        return
    for statement in _SQLITE_GUARDS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    op.drop_table("audit_events")
    op.drop_table("authorities")
