"""`servicekonto saml sp add|list`: service providers registered from their metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import httpx
import typer

from servicekonto.authorities.service import AuthorityService
from servicekonto.cli.common import ensure_schema, load_cli_settings, open_database
from servicekonto.clock import SystemClock
from servicekonto.errors import ConfigurationError
from servicekonto.saml.metadata import MetadataError, fetch_metadata, parse_sp_metadata
from servicekonto.saml.service import ProviderExistsError, ProviderOptions, ProviderService
from servicekonto.saml.signing import RSA_PSS_SHA256, RSA_SHA256

saml_cli = typer.Typer(help="SAML 2.0: service providers (procedures speaking SAML).")
sp_cli = typer.Typer(
    help="Service providers, registered from their metadata.", no_args_is_help=True
)
saml_cli.add_typer(sp_cli, name="sp")
CLI_ACTOR = "cli:saml"
ALGORITHMS = {"rsa-sha256": RSA_SHA256, "rsa-pss": RSA_PSS_SHA256}


def read_metadata(source: str) -> tuple[bytes, str | None]:
    """The metadata from a file or an https URL; the URL is kept for the record."""
    if source.startswith(("https://", "http://")):
        with httpx.Client() as client:
            return fetch_metadata(source, client), source
    path = Path(source)
    if not path.is_file():
        raise ConfigurationError(f"--metadata {source}: no such file")
    return path.read_bytes(), None


@sp_cli.command("add")
def sp_add(  # noqa: PLR0917 - one parameter per command-line option
    metadata: Annotated[str, typer.Option("--metadata", help="Metadata file or https URL.")],
    authority: Annotated[str, typer.Option("--authority", help="Owning authority's slug.")],
    name: Annotated[str | None, typer.Option("--name", help="Shown to citizens.")] = None,
    unsigned_requests: Annotated[
        bool, typer.Option("--allow-unsigned-requests", help="Accept unsigned AuthnRequests.")
    ] = False,
    algorithm: Annotated[
        str, typer.Option("--signature", help="rsa-sha256 (default) or rsa-pss.")
    ] = "rsa-sha256",
    minimum_level: Annotated[
        int, typer.Option("--minimum-level", min=1, max=4, help="Lowest trust level (1-4).")
    ] = 1,
    consent: Annotated[
        bool, typer.Option("--consent/--no-consent", help="Ask the person before releasing.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register a procedure from its SAML metadata, owned by an authority."""
    if algorithm not in ALGORITHMS:
        raise ConfigurationError(f"--signature {algorithm}: use rsa-sha256 or rsa-pss")
    try:
        document, url = read_metadata(metadata)
        parse_sp_metadata(document)  # a broken file is reported before the database is opened
    except MetadataError as error:
        raise ConfigurationError(f"--metadata {metadata}: {error}") from None
    settings = load_cli_settings()
    database = open_database(settings)
    ensure_schema(settings, database)
    clock = SystemClock()
    try:
        found = AuthorityService(database, clock).by_slug(authority)
        if found is None:
            raise ConfigurationError(f"--authority {authority}: no such authority")
        options = ProviderOptions(
            authority_id=found.id,
            name=name,
            metadata_url=url,
            require_signed_requests=not unsigned_requests,
            signature_algorithm=ALGORITHMS[algorithm],
            minimum_trust_level=minimum_level,
            consent_required=consent,
        )
        added = ProviderService(database, clock).add(document, options, CLI_ACTOR)
    except MetadataError as error:
        raise ConfigurationError(f"--metadata {metadata}: {error}") from None
    except ProviderExistsError as error:
        raise ConfigurationError(f"{error}: this entityID is registered already") from None
    finally:
        database.dispose()
    summary = {"entity_id": added.entity_id, "name": added.name, "authority": authority}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    typer.echo(f"registered {added.entity_id} ({added.name}) for {authority}")


@sp_cli.command("list")
def sp_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The registered service providers."""
    settings = load_cli_settings()
    database = open_database(settings)
    ensure_schema(settings, database)
    try:
        providers = ProviderService(database, SystemClock()).all()
    finally:
        database.dispose()
    rows = [{"entity_id": p.entity_id, "name": p.name} for p in providers]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['entity_id']}\t{row['name']}")
