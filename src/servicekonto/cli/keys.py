"""`servicekonto keys rotate|list`: the token signing keys for operators.

Rotating on one instance is enough: every instance re-reads the keys within
SERVICEKONTO_KEYS_CACHE_SECONDS, and the new key signs only after the publish lead.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from servicekonto.cli.common import ensure_schema, load_cli_settings, open_database
from servicekonto.clock import SystemClock
from servicekonto.keys.service import DEFAULT_ALGORITHM, KeyInfo, KeyService
from servicekonto.store.engine import Database

keys_cli = typer.Typer(
    help="Token signing keys: rotation and the published set.", no_args_is_help=True
)


class Algorithm(StrEnum):
    """The choices of `--alg`; the same as keys.service.SUPPORTED_ALGORITHMS."""

    ES256 = "ES256"
    RS256 = "RS256"


DEFAULT = Algorithm(DEFAULT_ALGORITHM)


def _service() -> tuple[KeyService, Database]:
    settings = load_cli_settings()
    database = open_database(settings)
    ensure_schema(settings, database)
    return KeyService(settings, database, SystemClock()), database


@keys_cli.command("rotate")
def keys_rotate(
    alg: Annotated[Algorithm, typer.Option("--alg", help="Algorithm of the new key.")] = DEFAULT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add a signing key: published at once, signing after the publish lead.

    The keys it replaces stay published until their tokens have expired.
    """
    service, database = _service()
    try:
        info = service.rotate(alg.value, actor="cli")
    finally:
        database.dispose()
    if as_json:
        typer.echo(json.dumps(info.as_json(), indent=2))
        return
    signs = "now" if info.state == "signing" else f"from {info.activates_at:%Y-%m-%d %H:%M} UTC"
    typer.echo(f"new {info.alg} key {info.kid}: published now, signs {signs}")


@keys_cli.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the keys with their state (published, signing, retiring, expired); no key material."""
    service, database = _service()
    try:
        listing = service.list_keys()
    finally:
        database.dispose()
    if as_json:
        typer.echo(json.dumps([info.as_json() for info in listing], indent=2))
        return
    for info in listing:
        typer.echo(_line(info))


def _line(info: KeyInfo) -> str:
    expires = f"{info.expires_at:%Y-%m-%d %H:%M}" if info.expires_at else "replaced"
    return (
        f"{info.alg}  {info.state:<9}  {info.kid}  "
        f"signs from {info.activates_at:%Y-%m-%d %H:%M}  published until {expires}  (UTC)"
    )
