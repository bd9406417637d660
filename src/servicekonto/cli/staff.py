"""`servicekonto staff add`: let a person with a confirmed account work for an authority."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from servicekonto.accounts.models import StaffRole
from servicekonto.accounts.staff import NoSuchPersonError, StaffService
from servicekonto.authorities.service import AuthorityService
from servicekonto.cli.common import ensure_schema, load_cli_settings, open_database
from servicekonto.clock import SystemClock
from servicekonto.errors import ConfigurationError

staff_cli = typer.Typer(help="Staff of the authorities: roles on the staff console.")
CLI_ACTOR = "cli"


@staff_cli.command("add")
def staff_add(
    email: Annotated[str, typer.Option("--email", help="The staff member's own login address.")],
    authority: Annotated[str, typer.Option("--authority", help="Authority slug (vg-cochem).")],
    role: Annotated[
        StaffRole, typer.Option("--role", help="citizens_office or registration_office.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Grant a role at an authority (idempotent); the person registers first, as anyone does."""
    settings = load_cli_settings()
    database = open_database(settings)
    ensure_schema(settings, database)
    clock = SystemClock()
    try:
        found = AuthorityService(database, clock).by_slug(authority)
        if found is None:
            raise ConfigurationError(f"--authority {authority}: no such authority")
        grant = StaffService(database, clock).add(email, found.id, role, CLI_ACTOR)
    except NoSuchPersonError as error:
        raise ConfigurationError(f"--email {email}: {error}") from None
    finally:
        database.dispose()
    summary = {"person_id": str(grant.person_id), "authority": authority, "role": role.value}
    if as_json:
        typer.echo(json.dumps({**summary, "created": grant.created}, indent=2))
        return
    typer.echo(f"{email} is {role.value} at {authority}" + ("" if grant.created else " (already)"))
