"""Where the migrations are, which revision is head, and which one a database is at.

The service migrates with Alembic only; `create_all` is never used outside tests. Alembic is
imported only to migrate: the readiness probe asks for the head and the current revision on
every poll, and importing Alembic would cost each worker about 10 MiB, so those two are read
directly (tests/test_store.py checks that they agree with Alembic's own answers).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "alembic_version"
# `revision: str = "0016_organisations"` and `down_revision: str | None = "0015_…"` (or None).
_REVISION_LINE = re.compile(
    r"^(?P<name>revision|down_revision)\b[^=\n]*=\s*(?:[\"'](?P<value>[^\"']+)[\"']|None)", re.M
)

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
    from alembic.config import Config  # noqa: PLC0415 - see the module docstring

    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The one revision no migration revises, from the scripts' `revision` lines."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (migrations_path() / "versions").glob("*.py"):
        for match in _REVISION_LINE.finditer(script.read_text(encoding="utf-8")):
            value = match["value"]
            if value is not None:
                (revisions if match["name"] == "revision" else revised).add(value)
    heads = sorted(revisions - revised)
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads; merge them into one")
    return heads[0]


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (Alembic's version table), None before the first."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    versions = list(connection.scalars(text("SELECT version_num FROM alembic_version")))
    if len(versions) > 1:
        raise RuntimeError(f"the database is at {len(versions)} revisions; expected one")
    return versions[0] if versions else None


def upgrade_to_head(connection: Connection) -> None:
    from alembic import command  # noqa: PLC0415 - see the module docstring

    command.upgrade(alembic_config(connection), "head")


def downgrade_to_base(connection: Connection) -> None:
    from alembic import command  # noqa: PLC0415 - see the module docstring

    command.downgrade(alembic_config(connection), "base")
