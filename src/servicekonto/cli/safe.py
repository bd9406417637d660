"""`servicekonto safe purge`: enforce the retention periods of the document safe."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer

from servicekonto.cli.common import ensure_schema, load_cli_settings, open_database
from servicekonto.clock import SystemClock
from servicekonto.safe.purge import purge
from servicekonto.store.blob_settings import blob_store_from_settings

safe_cli = typer.Typer(help="The document safe: retention.", no_args_is_help=True)
# An upload in progress takes seconds; an hour-old temporary file was left by a crash.
STALE_UPLOAD = timedelta(hours=1)


@safe_cli.command("purge")
def safe_purge(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Delete documents past their category's retention period (run daily)."""
    settings = load_cli_settings()
    database = open_database(settings)
    ensure_schema(settings, database)
    clock = SystemClock()
    blobs = blob_store_from_settings(settings)
    report = purge(database, clock, blobs, settings.safe)
    swept = blobs.sweep_temporaries(STALE_UPLOAD, clock.now())
    database.dispose()
    summary = {**report.as_json(), "stale_uploads": swept}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    for category, count in report.documents.items():
        typer.echo(f"{category}: {count} purged")
    typer.echo(f"idempotency records forgotten: {report.idempotency_records}")
    typer.echo(f"stale uploads removed: {swept}")
