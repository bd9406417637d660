"""`servicekonto clients add|list|rotate-secret|disable`: the procedures registered with the OP.

Clients and authorities are capabilities on one level and know each other only by id, so the
authority's slug is resolved to its id here, in the layer that may use both.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from servicekonto.authorities.schemas import AuthorityOut
from servicekonto.authorities.service import AuthorityService
from servicekonto.cli.common import ensure_schema, load_cli_settings, open_database
from servicekonto.clients.errors import (
    ClientExistsError,
    ClientNotConfidentialError,
    UnknownAuthorityError,
    UnknownClientError,
)
from servicekonto.clients.schemas import ClientOut, ClientSpec, ClientWithSecret
from servicekonto.clients.service import ClientService, digester_for
from servicekonto.clock import SystemClock
from servicekonto.config import ENV_PREFIX
from servicekonto.errors import ConfigurationError

CLI_ACTOR = "cli:clients"
SECRET_WARNING = (
    "Store the client secret now: it is shown only this once. servicekonto keeps only a keyed "
    "hash of it; if it is lost, run `servicekonto clients rotate-secret`."
)
# The option an operator has to change for each field of ClientSpec.
OPTION_FOR_FIELD = {
    "client_id": "--client-id",
    "name": "--name",
    "authority": "--authority",
    "redirect_uris": "--redirect-uri",
    "post_logout_redirect_uris": "--post-logout-redirect-uri",
    "grant_types": "--grant-type",
    "token_endpoint_auth_method": "--auth-method",
    "jwks": "--jwks-file",
    "jwks_uri": "--jwks-uri",
    "scopes": "--scope",
    "default_trust_level": "--default-level",
    "minimum_trust_level": "--minimum-level",
    "subject_type": "--subject-type",
    "consent_required": "--consent/--no-consent",
    "id_token_signed_response_alg": "--id-token-alg",
    "userinfo_signed_response_alg": "--userinfo-alg",
    "backchannel_logout_uri": "--backchannel-logout-uri",
    "client_uri": "--client-uri",
    "require_verified_organisation": "--require-verified-organisation",
}
_OPERATOR_ERRORS = (
    UnknownAuthorityError,
    ClientExistsError,
    UnknownClientError,
    ClientNotConfidentialError,
)

clients_cli = typer.Typer(
    help="Procedures (OIDC clients): register, list, rotate secrets, disable.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@dataclass(frozen=True)
class _Services:
    clients: ClientService
    authorities: list[AuthorityOut]

    def authority_id(self, slug: str) -> uuid.UUID:
        for authority in self.authorities:
            if authority.slug == slug:
                return authority.id
        raise UnknownAuthorityError(slug)

    def slug(self, authority_id: uuid.UUID) -> str | None:
        return next((a.slug for a in self.authorities if a.id == authority_id), None)


@contextmanager
def _services() -> Iterator[_Services]:
    """The services on a migrated database; operator mistakes become one line and exit 2."""
    settings = load_cli_settings()
    if settings.secret_key is None:
        raise ConfigurationError(f"{ENV_PREFIX}SECRET_KEY must be set to manage client secrets")
    database = open_database(settings)
    try:
        ensure_schema(settings, database)
        clock = SystemClock()
        digester = digester_for(settings.secret_key.get_secret_value())
        yield _Services(
            ClientService(database, clock, digester), AuthorityService(database, clock).list()
        )
    except _OPERATOR_ERRORS as error:
        raise ConfigurationError(str(error)) from None
    finally:
        database.dispose()


# --- input -----------------------------------------------------------------------------------


def validation_problems(error: ValidationError) -> list[str]:
    """One line per problem, each naming the option to change."""
    return [_problem_line(detail) for detail in error.errors()]


def _problem_line(detail: ErrorDetails) -> str:
    location = detail["loc"]
    option = OPTION_FOR_FIELD.get(str(location[0]), str(location[0])) if location else "input"
    item = len(location) > 1 and isinstance(location[1], int)
    # Our own messages already quote the value; pydantic's generic ones do not.
    if item and detail["type"] != "client_spec":
        return f"{option} {detail['input']}: {detail['msg']}"
    return f"{option}: {detail['msg']}"


def _read_jwks(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigurationError(f"--jwks-file {path}: cannot read it: {error.strerror}") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise ConfigurationError(f"--jwks-file {path}: not a JSON document: {error}") from None


def _spec(fields: dict[str, Any]) -> ClientSpec:
    given = {name: value for name, value in fields.items() if value not in (None, [])}
    try:
        return ClientSpec.model_validate(given)
    except ValidationError as error:
        raise ConfigurationError(*validation_problems(error)) from None


# --- output ----------------------------------------------------------------------------------


def _as_json(client: ClientOut, services: _Services) -> dict[str, Any]:
    return {**client.model_dump(mode="json"), "authority": services.slug(client.authority_id)}


def _line(client: ClientOut, services: _Services) -> str:
    state = "disabled" if client.disabled else "enabled"
    authority = services.slug(client.authority_id) or client.authority_id
    method = client.token_endpoint_auth_method.value
    return f"{client.client_id}  {authority}  {method}  {state}  {client.name}"


def _echo_with_secret(client: ClientWithSecret, services: _Services, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(_as_json(client, services), indent=2, ensure_ascii=False))
    else:
        typer.echo(_line(client, services))
        if client.client_secret is not None:
            typer.echo(f"client_secret: {client.client_secret}")
        else:
            method = client.token_endpoint_auth_method.value
            typer.echo(f"no client secret: the client authenticates with {method}")
    if client.client_secret is not None:
        typer.echo(SECRET_WARNING, err=True)


# --- commands --------------------------------------------------------------------------------


@clients_cli.command("add")
def clients_add(  # one parameter per option: typer passes them all by keyword
    *,
    client_id: Annotated[str, typer.Option("--client-id", help="The client_id, e.g. hunde.")],
    name: Annotated[str, typer.Option("--name", help="Name of the procedure users see.")],
    authority: Annotated[str, typer.Option("--authority", help="Owning authority's slug.")],
    redirect_uri: Annotated[
        list[str], typer.Option("--redirect-uri", help="Exact redirect URI (repeatable).")
    ],
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option("--post-logout-redirect-uri", help="Exact URI after logout (repeatable)."),
    ] = None,
    grant_type: Annotated[
        list[str] | None,
        typer.Option(
            "--grant-type",
            help="authorization_code, refresh_token, client_credentials (repeatable) "
            "[default: authorization_code].",
        ),
    ] = None,
    auth_method: Annotated[
        str | None,
        typer.Option(
            "--auth-method",
            help="client_secret_basic, client_secret_post, private_key_jwt or none "
            "[default: client_secret_basic].",
        ),
    ] = None,
    jwks_file: Annotated[
        Path | None, typer.Option("--jwks-file", help="The client's public JWKS (private_key_jwt).")
    ] = None,
    jwks_uri: Annotated[
        str | None, typer.Option("--jwks-uri", help="https URI of the client's JWKS.")
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="openid, profile, email, address, birth, organisation, safe.deposit "
            "(repeatable) [default: openid].",
        ),
    ] = None,
    default_level: Annotated[
        int | None, typer.Option("--default-level", help="Trust level 1-4 [default: 2].")
    ] = None,
    minimum_level: Annotated[
        int | None, typer.Option("--minimum-level", help="Trust level 1-4 [default: 1].")
    ] = None,
    subject_type: Annotated[
        str | None, typer.Option("--subject-type", help="public or pairwise [default: public].")
    ] = None,
    consent: Annotated[
        bool,
        typer.Option(
            "--consent/--no-consent",
            help="Ask users for consent, or not when the authority approved the release.",
        ),
    ] = True,
    id_token_alg: Annotated[
        str | None, typer.Option("--id-token-alg", help="ES256 or RS256 [default: ES256].")
    ] = None,
    userinfo_alg: Annotated[
        str | None,
        typer.Option(
            "--userinfo-alg", help="ES256 or RS256: sign userinfo responses [default: plain JSON]."
        ),
    ] = None,
    backchannel_logout_uri: Annotated[
        str | None, typer.Option("--backchannel-logout-uri", help="Back-channel logout URI.")
    ] = None,
    client_uri: Annotated[
        str | None,
        typer.Option("--client-uri", help="The procedure's start page, linked for citizens."),
    ] = None,
    require_verified_organisation: Annotated[
        bool,
        typer.Option(
            "--require-verified-organisation",
            help="Acting for an organisation needs a verified one.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Register a procedure; prints its client secret once."""
    spec = _spec(
        {
            "client_id": client_id,
            "name": name,
            "authority": authority,
            "redirect_uris": redirect_uri,
            "post_logout_redirect_uris": post_logout_redirect_uri,
            "grant_types": grant_type,
            "token_endpoint_auth_method": auth_method,
            "jwks": None if jwks_file is None else _read_jwks(jwks_file),
            "jwks_uri": jwks_uri,
            "scopes": scope,
            "default_trust_level": default_level,
            "minimum_trust_level": minimum_level,
            "subject_type": subject_type,
            "consent_required": consent,
            "id_token_signed_response_alg": id_token_alg,
            "userinfo_signed_response_alg": userinfo_alg,
            "backchannel_logout_uri": backchannel_logout_uri,
            "client_uri": client_uri,
            "require_verified_organisation": require_verified_organisation,
        }
    )
    with _services() as services:
        added = services.clients.add(spec, services.authority_id(spec.authority), CLI_ACTOR)
        _echo_with_secret(added, services, as_json)


@clients_cli.command("list")
def clients_list(
    authority: Annotated[
        str | None, typer.Option("--authority", help="Only this authority's clients (slug).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the registered procedures (never their secrets)."""
    with _services() as services:
        authority_id = None if authority is None else services.authority_id(authority)
        clients = services.clients.list(authority_id)
        if as_json:
            listing = [_as_json(client, services) for client in clients]
            typer.echo(json.dumps(listing, indent=2, ensure_ascii=False))
            return
        for client in clients:
            typer.echo(_line(client, services))


@clients_cli.command("rotate-secret")
def clients_rotate_secret(
    client_id: Annotated[str, typer.Argument(help="The client_id.")],
    as_json: JsonOption = False,
) -> None:
    """Replace the client secret; the old one stops working at once."""
    with _services() as services:
        rotated = services.clients.rotate_secret(client_id, CLI_ACTOR)
        _echo_with_secret(rotated, services, as_json)


@clients_cli.command("disable")
def clients_disable(
    client_id: Annotated[str, typer.Argument(help="The client_id.")],
    as_json: JsonOption = False,
) -> None:
    """Disable a procedure: it can no longer authenticate (running again changes nothing)."""
    with _services() as services:
        disabled = services.clients.disable(client_id, CLI_ACTOR)
        if as_json:
            typer.echo(json.dumps(_as_json(disabled, services), indent=2, ensure_ascii=False))
            return
        typer.echo(_line(disabled, services))
