"""What every command needs: settings, logging, a reachable and migrated database."""

from __future__ import annotations

from servicekonto.config import Settings, load_settings, with_secret_key
from servicekonto.errors import ConfigurationError
from servicekonto.metadata import SERVICE_NAME
from servicekonto.observability import configure_logging
from servicekonto.store.engine import Database
from servicekonto.store.schema import current_revision, head_revision, upgrade_to_head


def load_cli_settings() -> Settings:
    settings = with_secret_key(load_settings())
    configure_logging(settings.log.level, settings.log_format)
    return settings


def open_database(settings: Settings) -> Database:
    try:
        database = Database.from_url(settings.database_url, settings.database)
    except OSError as error:  # the embedded default cannot create its directory
        raise ConfigurationError(
            f"cannot create the database file: {error.strerror}: {error.filename}"
        ) from None
    database.ping()
    return database


def ensure_schema(settings: Settings, database: Database) -> None:
    """The embedded default migrates itself; a shared database is migrated deliberately."""
    with database.connection() as connection:
        if settings.uses_embedded_database:
            upgrade_to_head(connection)
            connection.commit()
            return
        revision = current_revision(connection)
    if revision != head_revision():
        raise ConfigurationError(
            f"the database schema is at revision {revision or 'none'}, expected {head_revision()}: "
            f"run `{SERVICE_NAME} db upgrade` first"
        )
