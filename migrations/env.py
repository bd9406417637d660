"""Alembic environment: the same settings and models as the service.

Called two ways: by `servicekonto db upgrade` (and the tests) with an open connection in
`config.attributes["connection"]`, or by the plain `alembic` command, which builds an engine from
the SERVICEKONTO_* settings. SQLite runs in batch mode so that ALTERs become table copies.
"""

from alembic import context
from sqlalchemy import Connection

from servicekonto.config import load_settings
from servicekonto.models import metadata
from servicekonto.store.engine import create_database_engine


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    settings = load_settings()
    engine = create_database_engine(settings.database_url, settings.database)
    with engine.connect() as own_connection:
        run_migrations(own_connection)
        own_connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run against a database")
run_online()
