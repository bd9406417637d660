"""`servicekonto registry …` and `servicekonto registry-mock serve`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from servicekonto.accounts.context import build_account_context
from servicekonto.cli.common import ensure_schema, load_cli_settings, open_database
from servicekonto.clock import SystemClock
from servicekonto.errors import ConfigurationError
from servicekonto.mail.senders import build_mail_sender
from servicekonto.registration.context import build_identity_context
from servicekonto.registry.importer import import_residents, read_file

registry_cli = typer.Typer(
    help="The population registry (mock data and checks).", no_args_is_help=True
)
registry_mock_cli = typer.Typer(help="The standalone mock registry service.", no_args_is_help=True)


@registry_cli.command("import")
def registry_import(
    file: Annotated[
        Path, typer.Argument(help="CSV file of residents (see registry/csv_format.py).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Load residents into the mock registry: all rows, or none if any row is broken."""
    settings = load_cli_settings()
    database = open_database(settings)
    ensure_schema(settings, database)
    records, problems = read_file(file)
    if problems:
        for problem in problems:
            typer.echo(f"{file}:{problem.line}: {problem.message}", err=True)
        raise typer.Exit(code=1)
    count = import_residents(database, records)
    database.dispose()
    typer.echo(json.dumps({"imported": count}) if as_json else f"imported {count} residents")


@registry_cli.command("retry")
def registry_retry() -> None:
    """Ask the registry again for every check that waits because it was down."""
    settings = load_cli_settings()
    database = open_database(settings)
    ensure_schema(settings, database)
    context = build_account_context(settings, database, SystemClock(), build_mail_sender(settings))
    count = build_identity_context(context).checks.run_all_due()
    database.dispose()
    typer.echo(f"re-checked {count} pending identity checks")


@registry_mock_cli.command("serve")
def registry_mock_serve(
    host: Annotated[str, typer.Option(help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Listen port.")] = 8081,
) -> None:
    """Serve the mock registry gateway over the shipped synthetic residents."""
    if not 1 <= port <= 65535:
        raise ConfigurationError(f"--port must be between 1 and 65535 (it is {port})")
    uvicorn.run(
        "servicekonto.registry_mock.app:create_registry_mock_app_from_env",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
    )
