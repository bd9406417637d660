"""Where the migrations are, which revision is head, and which one a database is at.

The service migrates with Alembic only; `create_all` is never used outside tests.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

# A wheel carries the migrations inside the package; a source checkout has them at the top.
_PACKAGED_MIGRATIONS = "_migrations"
_CHECKOUT_MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


def migrations_path() -> Path:
    packaged = resources.files("servicekonto").joinpath(_PACKAGED_MIGRATIONS)
    if packaged.is_dir():
        return Path(str(packaged))
    if _CHECKOUT_MIGRATIONS.is_dir():
        return _CHECKOUT_MIGRATIONS
    raise FileNotFoundError("the Alembic migrations are missing from this installation")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration; given a connection, migrations run on it, not the settings' URL."""
    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads; merge them into one")
    return heads[0]


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def downgrade_to_base(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "base")
