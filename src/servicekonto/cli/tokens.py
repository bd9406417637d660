"""`servicekonto tokens purge`: delete expired and spent token records (see tokens/purge.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer

from servicekonto.cli.common import ensure_schema, load_cli_settings, open_database
from servicekonto.clock import SystemClock
from servicekonto.tokens.purge import DEFAULT_KEEP, purge_tokens

tokens_cli = typer.Typer(
    help="Issued tokens, refresh tokens, codes: retention.", no_args_is_help=True
)


@tokens_cli.command("purge")
def tokens_purge(
    keep_hours: Annotated[
        int,
        typer.Option(
            "--keep-hours", min=0, help="Hours a record is kept after it stopped counting."
        ),
    ] = int(DEFAULT_KEEP.total_seconds() // 3600),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Delete expired access-token records, spent refresh tokens and orphaned codes (daily)."""
    settings = load_cli_settings()
    database = open_database(settings)
    try:
        ensure_schema(settings, database)
        report = purge_tokens(database, SystemClock().now(), timedelta(hours=keep_hours))
    finally:
        database.dispose()
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
        return
    for name, count in report.as_json().items():
        typer.echo(f"{name.replace('_', ' ')}: {count} purged")
