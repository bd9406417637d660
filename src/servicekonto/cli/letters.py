"""`servicekonto letters list|export`: the PIN letter outbox for operators and the print shop."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from servicekonto.accounts.context import build_account_context
from servicekonto.cli.common import ensure_schema, load_cli_settings, open_database
from servicekonto.clock import SystemClock
from servicekonto.mail.senders import build_mail_sender
from servicekonto.pinletters.models import LetterStatus
from servicekonto.pinletters.outbox import LetterOutbox
from servicekonto.registration.context import build_identity_context
from servicekonto.store.engine import Database

letters_cli = typer.Typer(help="PIN letters: the outbox.", no_args_is_help=True)


def _outbox() -> tuple[LetterOutbox, Database]:
    settings = load_cli_settings()
    database = open_database(settings)
    ensure_schema(settings, database)
    context = build_account_context(settings, database, SystemClock(), build_mail_sender(settings))
    return build_identity_context(context).outbox, database


@letters_cli.command("list")
def letters_list(
    status: Annotated[LetterStatus | None, typer.Option(help="Only letters in this state.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List letters (no PINs, no names: number, state, dates, postal code and town)."""
    outbox, database = _outbox()
    listing = outbox.listing(status.value if status else None)
    database.dispose()
    if as_json:
        typer.echo(json.dumps([asdict(item) for item in listing], default=str, indent=2))
        return
    for item in listing:
        when = f"{item.created_at:%Y-%m-%d}"
        typer.echo(f"{item.letter_number}  {item.status:<9} {when}  {item.postal_code} {item.city}")


@letters_cli.command("export")
def letters_export(
    out: Annotated[Path, typer.Option("--out", help="Directory for the PDF and the manifest.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Write every queued letter into one PDF plus a CSV manifest and mark them exported."""
    outbox, database = _outbox()
    result = outbox.export(out)
    database.dispose()
    summary = {
        "batch_id": str(result.batch_id) if result.batch_id else None,
        "letters": result.count,
        "pdf": str(result.pdf) if result.pdf else None,
        "manifest": str(result.manifest) if result.manifest else None,
    }
    typer.echo(
        json.dumps(summary, indent=2) if as_json else f"exported {result.count} letters to {out}"
    )


@letters_cli.command("posted")
def letters_posted(
    batch_id: Annotated[
        uuid.UUID, typer.Argument(help="The batch id printed by `letters export`.")
    ],
) -> None:
    """Record that the print shop posted a batch (its letters go from exported to posted)."""
    outbox, database = _outbox()
    count = outbox.mark_posted(batch_id)
    database.dispose()
    typer.echo(f"{count} letters posted")
