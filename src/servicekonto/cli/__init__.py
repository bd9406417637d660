"""The `servicekonto` command: serve, migrate, seed the demo, and operator helpers.

Operator mistakes (bad configuration, unreachable database) end with one line per problem on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from servicekonto.app import render_openapi
from servicekonto.cli.clients import clients_cli
from servicekonto.cli.common import ensure_schema, load_cli_settings, open_database
from servicekonto.cli.eid_mock import eid_mock_cli
from servicekonto.cli.keys import keys_cli
from servicekonto.cli.letters import letters_cli
from servicekonto.cli.registry import registry_cli, registry_mock_cli
from servicekonto.cli.safe import safe_cli
from servicekonto.cli.saml import saml_cli
from servicekonto.cli.staff import staff_cli
from servicekonto.cli.tokens import tokens_cli
from servicekonto.clock import SystemClock
from servicekonto.config import render_env_example
from servicekonto.demo import refuse_production, render_text, seed_demo
from servicekonto.errors import ConfigurationError
from servicekonto.keys.service import KeyService
from servicekonto.metadata import SERVICE_NAME, __version__
from servicekonto.observability import get_logger
from servicekonto.store.schema import current_revision, head_revision, upgrade_to_head

cli = typer.Typer(
    name=SERVICE_NAME,
    help="servicekonto: one account for every procedure of the district.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(registry_cli, name="registry")
cli.add_typer(registry_mock_cli, name="registry-mock")
cli.add_typer(letters_cli, name="letters")
cli.add_typer(clients_cli, name="clients")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(safe_cli, name="safe")
cli.add_typer(saml_cli, name="saml")
cli.add_typer(staff_cli, name="staff")
cli.add_typer(tokens_cli, name="tokens")
cli.add_typer(eid_mock_cli, name="eid-mock")
log = get_logger("servicekonto.cli")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{SERVICE_NAME} {__version__}")
        raise typer.Exit()


@cli.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """servicekonto: one account for every procedure of the district."""


@cli.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Listen address [default: SERVICEKONTO_SERVER_HOST].")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Listen port [default: SERVICEKONTO_SERVER_PORT].")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes [default: SERVICEKONTO_SERVER_WORKERS]."),
    ] = None,
) -> None:
    """Serve the web application (migrating the embedded database first)."""
    settings = load_cli_settings()
    database = open_database(settings)
    ensure_schema(settings, database)
    # A fresh installation must be able to sign its first token at once.
    KeyService(settings, database, SystemClock()).ensure_keys()
    database.dispose()
    server = settings.server
    log.info(
        "starting", issuer=settings.issuer, workers=workers or server.workers, version=__version__
    )
    uvicorn.run(
        "servicekonto.app:create_app_from_env",
        factory=True,
        host=host or server.host,
        port=port or server.port,
        workers=workers or server.workers,
        log_config=None,
        access_log=False,
        server_header=False,
    )


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations up to the newest one."""
    settings = load_cli_settings()
    database = open_database(settings)
    with database.connection() as connection:
        upgrade_to_head(connection)
        connection.commit()
        typer.echo(f"database schema at revision {current_revision(connection)} (head)")
    database.dispose()


@db_cli.command("current")
def db_current() -> None:
    """Print the database's schema revision and the newest one."""
    settings = load_cli_settings()
    database = open_database(settings)
    with database.connection() as connection:
        revision = current_revision(connection)
    database.dispose()
    typer.echo(f"current: {revision or 'none'}\nhead:    {head_revision()}")


@cli.command()
def demo(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of everything created.")
    ] = False,
) -> None:
    """Seed demo data (idempotent) and print how to use it."""
    settings = load_cli_settings()
    refuse_production(settings)
    database = open_database(settings)
    ensure_schema(settings, database)
    report = seed_demo(settings, database, SystemClock())
    database.dispose()
    typer.echo(
        json.dumps(report.as_json(), indent=2, ensure_ascii=False)
        if as_json
        else render_text(report)
    )


@cli.command()
def openapi(
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the OpenAPI description of the HTTP interface (as kept under openapi/)."""
    text = render_openapi()
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")


@cli.command("env-example")
def env_example() -> None:
    """Print an example environment file with every setting, its default and its meaning."""
    typer.echo(render_env_example(), nl=False)


def main() -> None:
    try:
        cli()
    except ConfigurationError as error:
        for problem in error.problems:
            typer.echo(f"{SERVICE_NAME}: error: {problem}", err=True)
        sys.exit(ConfigurationError.exit_code)
