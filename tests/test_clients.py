"""Registered procedures: secrets shown once and stored as digests, strict registration rules,
audit without secrets, and the `clients` commands."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic
from typing import Any

import pytest
from joserfc.jwk import ECKey, RSAKey
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner, Result

from servicekonto.audit.models import AuditEvent
from servicekonto.audit.repository import AuditRepository
from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.cli.clients import clients_cli
from servicekonto.clients.errors import (
    ClientExistsError,
    ClientNotConfidentialError,
    UnknownAuthorityError,
    UnknownClientError,
)
from servicekonto.clients.models import OidcClient
from servicekonto.clients.schemas import ClientOut, ClientSpec
from servicekonto.clients.service import CLIENT_CACHE_SECONDS, ClientService, digester_for
from servicekonto.clock import FixedClock
from servicekonto.config import load_settings, with_secret_key
from servicekonto.errors import ConfigurationError
from servicekonto.store.engine import Database
from servicekonto.store.schema import upgrade_to_head
from tests.conftest import TEST_SECRET_KEY

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
COCHEM = AuthoritySpec(
    slug="vg-cochem", name="Verbandsgemeindeverwaltung Cochem", kind=AuthorityKind.DISTRICT
)
ZELL = AuthoritySpec(
    slug="vg-zell", name="Verbandsgemeindeverwaltung Zell", kind=AuthorityKind.DISTRICT
)
HUNDE: dict[str, Any] = {
    "client_id": "vg-cochem.hundesteuer",
    "name": "Hundesteuer Cochem",
    "authority": "vg-cochem",
    "redirect_uris": ["https://hunde.vg-cochem.example/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "scopes": ["openid", "profile", "address"],
}


def public_jwks() -> dict[str, Any]:
    return {"keys": [ECKey.generate_key("P-256").as_dict(private=False, kid="k1")]}


def spec(**changes: Any) -> ClientSpec:
    return ClientSpec.model_validate(HUNDE | changes)


@pytest.fixture
def authorities(db: Database, clock: FixedClock) -> dict[str, uuid.UUID]:
    service = AuthorityService(db, clock)
    return {s.slug: service.ensure(s, actor="test").authority.id for s in (COCHEM, ZELL)}


@pytest.fixture
def service(db: Database, clock: FixedClock) -> ClientService:
    return ClientService(db, clock, digester_for(TEST_SECRET_KEY))


def stored(db: Database, client_id: str) -> OidcClient | None:
    with db.session() as session:
        return session.scalars(
            select(OidcClient).where(OidcClient.client_id == client_id)
        ).one_or_none()


def audit_events(db: Database) -> list[AuditEvent]:
    with db.session() as session:
        query = select(AuditEvent).where(AuditEvent.action.like("client.%"))
        return list(session.scalars(query.order_by(AuditEvent.occurred_at, AuditEvent.action)))


# --- secrets ---------------------------------------------------------------------------------


def test_add_returns_the_secret_once_and_stores_only_its_digest(
    db: Database, service: ClientService, authorities: dict[str, uuid.UUID]
) -> None:
    added = service.add(spec(), authorities["vg-cochem"], actor="test")
    assert added.client_secret is not None
    assert added.client_secret.startswith("sk_cs_")
    row = stored(db, "vg-cochem.hundesteuer")
    assert row is not None
    assert row.secret_digest == digester_for(TEST_SECRET_KEY).digest(added.client_secret)
    assert added.client_secret not in json.dumps(
        {column.key: str(getattr(row, column.key)) for column in OidcClient.__table__.columns}
    )
    fetched = service.get("vg-cochem.hundesteuer")
    assert fetched is not None
    assert not hasattr(fetched, "client_secret")
    assert "secret_digest" not in ClientOut.model_fields
    assert fetched.grant_types == ["authorization_code", "refresh_token"]
    assert (fetched.default_trust_level, fetched.minimum_trust_level) == (2, 1)


def test_authenticate_secret(service: ClientService, authorities: dict[str, uuid.UUID]) -> None:
    secret = service.add(spec(), authorities["vg-cochem"], actor="test").client_secret
    assert secret is not None
    assert service.authenticate_secret("vg-cochem.hundesteuer", secret)
    assert not service.authenticate_secret("vg-cochem.hundesteuer", secret + "x")
    assert not service.authenticate_secret("vg-cochem.hundesteuer", "")
    assert not service.authenticate_secret("vg-cochem.unknown", secret)


def test_rotation_replaces_the_secret_at_once(
    service: ClientService, clock: FixedClock, authorities: dict[str, uuid.UUID]
) -> None:
    old = service.add(spec(), authorities["vg-cochem"], actor="test").client_secret
    rotated = service.rotate_secret("vg-cochem.hundesteuer", actor="test")
    assert old is not None and rotated.client_secret is not None
    assert rotated.client_secret != old
    assert rotated.secret_rotated_at == clock.now()
    assert not service.authenticate_secret("vg-cochem.hundesteuer", old)
    assert service.authenticate_secret("vg-cochem.hundesteuer", rotated.client_secret)


def test_the_token_endpoints_lookup_checks_the_secret_and_forgets_on_changes(
    db: Database, service: ClientService, clock: FixedClock, authorities: dict[str, uuid.UUID]
) -> None:
    secret = service.add(spec(), authorities["vg-cochem"], actor="test").client_secret
    assert secret is not None
    record = service.lookup("vg-cochem.hundesteuer")
    assert record is not None
    assert service.secret_matches(record, secret)
    assert not service.secret_matches(record, secret + "x")
    assert not service.secret_matches(None, secret)
    assert service.lookup("vg-cochem.unknown") is None
    # Another service on the same database (the admin API, the tests) shares the cache and
    # forgets a client it changed, so the change counts at once in this process.
    other = ClientService(db, clock, digester_for(TEST_SECRET_KEY))
    rotated = other.rotate_secret("vg-cochem.hundesteuer", actor="test").client_secret
    assert rotated is not None
    fresh = service.lookup("vg-cochem.hundesteuer")
    assert fresh is not None
    assert not service.secret_matches(fresh, secret)
    assert service.secret_matches(fresh, rotated)
    other.disable("vg-cochem.hundesteuer", actor="test")
    disabled = service.lookup("vg-cochem.hundesteuer")
    assert disabled is not None
    assert disabled.client.disabled
    assert not service.secret_matches(disabled, rotated)


def test_a_client_changed_elsewhere_counts_within_the_cache_lifetime(
    db: Database,
    service: ClientService,
    authorities: dict[str, uuid.UUID],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process (a worker, the CLI) disables a client: this one refuses it within
    CLIENT_CACHE_SECONDS, not at once."""
    service.add(spec(), authorities["vg-cochem"], actor="test")
    assert service.lookup("vg-cochem.hundesteuer") is not None
    with db.unit_of_work() as uow:  # as another process would: past this process's cache
        row = uow.session.scalars(select(OidcClient).filter_by(client_id="vg-cochem.hundesteuer"))
        row.one().disabled_at = datetime(2026, 5, 4, tzinfo=UTC)
        uow.commit()
    cached = service.lookup("vg-cochem.hundesteuer")
    assert cached is not None
    assert not cached.client.disabled
    later = monotonic() + CLIENT_CACHE_SECONDS + 0.1
    monkeypatch.setattr("servicekonto.clients.service.monotonic", lambda: later)
    reread = service.lookup("vg-cochem.hundesteuer")
    assert reread is not None
    assert reread.client.disabled


def test_disabled_clients_do_not_authenticate_and_disabling_twice_changes_nothing(
    db: Database, service: ClientService, clock: FixedClock, authorities: dict[str, uuid.UUID]
) -> None:
    secret = service.add(spec(), authorities["vg-cochem"], actor="test").client_secret
    assert secret is not None
    first = service.disable("vg-cochem.hundesteuer", actor="test")
    assert first.disabled and first.disabled_at == clock.now()
    assert not service.authenticate_secret("vg-cochem.hundesteuer", secret)
    again = service.disable("vg-cochem.hundesteuer", actor="test")
    assert again.disabled_at == first.disabled_at
    assert [event.action for event in audit_events(db)].count("client.disabled") == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"token_endpoint_auth_method": "none"},
        {"token_endpoint_auth_method": "private_key_jwt", "jwks": public_jwks()},
        {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://a.example/jwks"},
    ],
    ids=["public", "private_key_jwt-jwks", "private_key_jwt-jwks_uri"],
)
def test_clients_without_secret_auth_get_no_secret(
    db: Database,
    service: ClientService,
    authorities: dict[str, uuid.UUID],
    changes: dict[str, Any],
) -> None:
    added = service.add(spec(**changes), authorities["vg-cochem"], actor="test")
    assert added.client_secret is None
    row = stored(db, "vg-cochem.hundesteuer")
    assert row is not None and row.secret_digest is None
    assert not service.authenticate_secret("vg-cochem.hundesteuer", "")
    with pytest.raises(ClientNotConfidentialError, match="no secret to rotate"):
        service.rotate_secret("vg-cochem.hundesteuer", actor="test")


def test_unknown_clients_cannot_be_rotated_or_disabled(service: ClientService) -> None:
    with pytest.raises(UnknownClientError, match="no client with the id 'nope-nope'"):
        service.rotate_secret("nope-nope", actor="test")
    with pytest.raises(UnknownClientError):
        service.disable("nope-nope", actor="test")
    assert service.get("nope-nope") is None


def test_list_by_authority(service: ClientService, authorities: dict[str, uuid.UUID]) -> None:
    service.add(spec(), authorities["vg-cochem"], actor="test")
    service.add(spec(client_id="vg-cochem.sperrmuell"), authorities["vg-cochem"], actor="test")
    service.add(spec(client_id="vg-zell.jagdschein"), authorities["vg-zell"], actor="test")
    assert [c.client_id for c in service.list(authorities["vg-cochem"])] == [
        "vg-cochem.hundesteuer",
        "vg-cochem.sperrmuell",
    ]
    assert [c.client_id for c in service.list(authorities["vg-zell"])] == ["vg-zell.jagdschein"]
    assert len(service.list()) == 3


def test_unknown_authority_is_refused_and_nothing_is_stored(
    db: Database, service: ClientService, authorities: dict[str, uuid.UUID]
) -> None:
    with pytest.raises(UnknownAuthorityError):
        service.add(spec(), uuid.uuid4(), actor="test")
    assert stored(db, "vg-cochem.hundesteuer") is None
    assert audit_events(db) == []
    # The unit of work is usable afterwards (the failed insert was rolled back).
    assert service.add(spec(), authorities["vg-cochem"], actor="test").client_secret


def test_duplicate_client_id_is_refused_and_the_first_stays(
    db: Database, service: ClientService, authorities: dict[str, uuid.UUID]
) -> None:
    first = service.add(spec(), authorities["vg-cochem"], actor="test")
    with pytest.raises(ClientExistsError, match="already registered"):
        service.add(spec(name="Zweiter Versuch"), authorities["vg-zell"], actor="test")
    row = stored(db, "vg-cochem.hundesteuer")
    assert row is not None and row.name == "Hundesteuer Cochem"
    assert first.client_secret is not None
    assert service.authenticate_secret("vg-cochem.hundesteuer", first.client_secret)
    assert [event.action for event in audit_events(db)] == ["client.added"]


def test_audit_events_name_the_client_and_never_the_secret(
    db: Database, service: ClientService, clock: FixedClock, authorities: dict[str, uuid.UUID]
) -> None:
    secrets = [service.add(spec(), authorities["vg-cochem"], actor="cli:test").client_secret]
    secrets.append(service.rotate_secret("vg-cochem.hundesteuer", actor="cli:test").client_secret)
    service.disable("vg-cochem.hundesteuer", actor="cli:test")
    with db.session() as session:
        events = AuditRepository(session).for_subject("oidc_client", "vg-cochem.hundesteuer")
    assert sorted(event.action for event in events) == [
        "client.added",
        "client.disabled",
        "client.secret_rotated",
    ]
    row = stored(db, "vg-cochem.hundesteuer")
    assert row is not None and row.secret_digest is not None
    for event in events:
        assert event.actor == "cli:test"
        assert event.authority_id == authorities["vg-cochem"]
        assert event.details["client_id"] == "vg-cochem.hundesteuer"
        text = json.dumps(event.details)
        assert row.secret_digest not in text
        assert all(secret is not None and secret not in text for secret in secrets)


# --- validation ------------------------------------------------------------------------------

BAD_SPECS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "http-non-loopback",
        {"redirect_uris": ["http://hunde.example/cb"]},
        "redirect_uris",
        "must use https",
    ),
    ("fragment", {"redirect_uris": ["https://hunde.example/cb#x"]}, "redirect_uris", "fragment"),
    ("empty-fragment", {"redirect_uris": ["https://hunde.example/cb#"]}, "redirect_uris", "frag"),
    ("wildcard", {"redirect_uris": ["https://*.example/cb"]}, "redirect_uris", "wildcard"),
    ("relative", {"redirect_uris": ["/callback"]}, "redirect_uris", "not an absolute URI"),
    ("no-host", {"redirect_uris": ["https:///cb"]}, "redirect_uris", "not an absolute URI"),
    ("custom-scheme", {"redirect_uris": ["de.cochem.app:/cb"]}, "redirect_uris", "absolute"),
    ("userinfo", {"redirect_uris": ["https://u:p@a.example/"]}, "redirect_uris", "credentials"),
    ("loopback-lookalike", {"redirect_uris": ["http://127.0.0.1.evil.example/"]}, "", "https"),
    ("no-redirect-uri", {"redirect_uris": []}, "redirect_uris", "at least 1"),
    ("too-many", {"redirect_uris": [f"https://a.example/{i}" for i in range(21)]}, "", "20"),
    ("duplicate-uri", {"redirect_uris": ["https://a.example/"] * 2}, "", "listed twice"),
    (
        "post-logout-http",
        {"post_logout_redirect_uris": ["http://a.example/bye"]},
        "post_logout_redirect_uris",
        "https",
    ),
    ("backchannel-http", {"backchannel_logout_uri": "http://a.example/bc"}, "", "https"),
    ("unknown-scope", {"scopes": ["openid", "phone"]}, "scopes", "'openid'"),
    ("no-scope", {"scopes": []}, "scopes", "at least 1"),
    ("unknown-grant", {"grant_types": ["password"]}, "grant_types", "authorization_code"),
    ("no-grant", {"grant_types": []}, "grant_types", "at least one grant"),
    (
        "refresh-without-code",
        {"grant_types": ["refresh_token", "client_credentials"]},
        "grant_types",
        "refresh_token needs the authorization_code",
    ),
    (
        "public-client-credentials",
        {"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]},
        "token_endpoint_auth_method",
        "may not use the client_credentials",
    ),
    ("unknown-auth-method", {"token_endpoint_auth_method": "tls_client_auth"}, "", "none"),
    (
        "private-key-jwt-without-keys",
        {"token_endpoint_auth_method": "private_key_jwt"},
        "jwks_uri",
        "exactly one of jwks or jwks_uri",
    ),
    (
        "private-key-jwt-with-both",
        {
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": public_jwks(),
            "jwks_uri": "https://a.example/jwks",
        },
        "jwks_uri",
        "exactly one",
    ),
    (
        "jwks-with-private-d",
        {
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [ECKey.generate_key("P-256").as_dict(private=True)]},
        },
        "jwks",
        "private key material (d)",
    ),
    (
        "jwks-with-symmetric-key",
        {
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
        },
        "jwks",
        "expected RSA, EC or OKP",
    ),
    (
        "jwks-empty",
        {"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": []}},
        "jwks",
        "non-empty",
    ),
    (
        "jwks-broken-key",
        {
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}]},
        },
        "jwks",
        "cannot be imported",
    ),
    (
        "jwks-uri-http",
        {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://localhost/jwks"},
        "jwks_uri",
        "must use https",
    ),
    ("jwks-for-secret-client", {"jwks": public_jwks()}, "jwks", "only used with private_key_jwt"),
    ("minimum-above-default", {"minimum_trust_level": 3}, "minimum_trust_level", "above"),
    ("level-5", {"default_trust_level": 5}, "default_trust_level", "less than or equal to 4"),
    ("level-0", {"minimum_trust_level": 0}, "minimum_trust_level", "greater than or equal"),
    ("bad-client-id-upper", {"client_id": "Hunde"}, "client_id", "not a valid client id"),
    ("bad-client-id-short", {"client_id": "abc"}, "client_id", "not a valid client id"),
    ("bad-client-id-edge", {"client_id": "hunde-"}, "client_id", "not a valid client id"),
    ("bad-authority", {"authority": "VG Cochem"}, "authority", "not an authority slug"),
    ("short-name", {"name": "H"}, "name", "at least 2"),
    ("subject-type", {"subject_type": "secret"}, "subject_type", "pairwise"),
    ("id-token-alg", {"id_token_signed_response_alg": "HS256"}, "", "ES256"),
    ("userinfo-alg-none", {"userinfo_signed_response_alg": "none"}, "", "ES256"),
    ("userinfo-alg-hmac", {"userinfo_signed_response_alg": "HS256"}, "", "ES256"),
    ("unknown-field", {"client_secret": "mine"}, "client_secret", "Extra inputs"),
]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [case[1:] for case in BAD_SPECS],
    ids=[case[0] for case in BAD_SPECS],
)
def test_bad_specs_are_refused_with_a_clear_message(
    changes: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        spec(**changes)
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    if field:
        assert errors[0]["loc"][0] == field
    assert message in errors[0]["msg"]


GOOD_SPECS: list[dict[str, Any]] = [
    {"redirect_uris": ["http://127.0.0.1:8400/callback"]},  # RFC 8252 §7.3
    {"redirect_uris": ["http://localhost/callback", "https://a.example/cb?tenant=1"]},
    {"token_endpoint_auth_method": "none"},
    {"token_endpoint_auth_method": "client_secret_post", "grant_types": ["client_credentials"]},
    {
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [RSAKey.generate_key(2048).as_dict(private=False)]},
    },
    {"default_trust_level": 4, "minimum_trust_level": 4, "subject_type": "pairwise"},
    {"backchannel_logout_uri": "http://127.0.0.1:9000/bc", "consent_required": False},
    {"userinfo_signed_response_alg": "RS256"},
]


@pytest.mark.parametrize("changes", GOOD_SPECS)
def test_good_specs_are_accepted(changes: dict[str, Any]) -> None:
    assert spec(**changes).client_id == HUNDE["client_id"]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        spec(
            client_id="X",
            redirect_uris=["http://evil.example/", "https://a.example/#f"],
            scopes=["phone"],
            default_trust_level=2,
            minimum_trust_level=3,
        )
    locations = [error["loc"] for error in caught.value.errors()]
    assert locations == [
        ("client_id",),
        ("redirect_uris", 0),
        ("redirect_uris", 1),
        ("scopes", 0),
        ("minimum_trust_level",),
    ]


# --- the commands ----------------------------------------------------------------------------

ADD = [
    "add",
    "--client-id",
    "vg-cochem.hundesteuer",
    "--name",
    "Hundesteuer Cochem",
    "--authority",
    "vg-cochem",
    "--redirect-uri",
    "https://hunde.vg-cochem.example/callback",
    "--grant-type",
    "authorization_code",
    "--grant-type",
    "refresh_token",
    "--scope",
    "openid",
    "--scope",
    "profile",
]


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    """The CLI's embedded database, migrated, with the authorities seeded."""
    var = tmp_path / "var"
    database = cli_database(var)
    with database.connection() as connection:
        upgrade_to_head(connection)
        connection.commit()
    clock = FixedClock(NOW)
    for authority in (COCHEM, ZELL):
        AuthorityService(database, clock).ensure(authority, actor="test")
    database.dispose()
    return var


def cli_database(var: Path) -> Database:
    return Database.from_url(load_settings(var_dir=var).database_url)


def invoke(var: Path, *args: str) -> Result:
    return CliRunner().invoke(clients_cli, list(args), env={"SERVICEKONTO_VAR_DIR": str(var)})


def problems(result: Result) -> tuple[str, ...]:
    assert isinstance(result.exception, ConfigurationError), result.output
    return result.exception.problems


def cli_service(var: Path) -> tuple[ClientService, Database]:
    settings = with_secret_key(load_settings(var_dir=var))
    assert settings.secret_key is not None
    database = cli_database(var)
    digester = digester_for(settings.secret_key.get_secret_value())
    return ClientService(database, FixedClock(NOW), digester), database


def test_cli_add_rotate_disable_list(var_dir: Path) -> None:
    added = invoke(var_dir, *ADD, "--json")
    assert added.exit_code == 0, added.output
    created = json.loads(added.stdout)
    secret = created["client_secret"]
    assert secret.startswith("sk_cs_")
    assert created["authority"] == "vg-cochem"
    assert "shown only this once" in added.stderr

    listed = invoke(var_dir, "list", "--authority", "vg-cochem", "--json")
    assert [c["client_id"] for c in json.loads(listed.stdout)] == ["vg-cochem.hundesteuer"]
    assert secret not in listed.stdout
    assert not {"client_secret", "secret_digest"} & json.loads(listed.stdout)[0].keys()
    assert json.loads(invoke(var_dir, "list", "--authority", "vg-zell", "--json").stdout) == []

    rotated = json.loads(invoke(var_dir, "rotate-secret", "vg-cochem.hundesteuer", "--json").stdout)
    service, database = cli_service(var_dir)
    assert not service.authenticate_secret("vg-cochem.hundesteuer", secret)
    assert service.authenticate_secret("vg-cochem.hundesteuer", rotated["client_secret"])

    disabled = invoke(var_dir, "disable", "vg-cochem.hundesteuer", "--json")
    assert json.loads(disabled.stdout)["disabled_at"] is not None
    assert not service.authenticate_secret("vg-cochem.hundesteuer", rotated["client_secret"])
    database.dispose()


def test_cli_prints_the_secret_once_and_never_again(var_dir: Path) -> None:
    added = invoke(var_dir, *ADD)
    assert added.exit_code == 0, added.output
    lines = [line for line in added.stdout.splitlines() if line.startswith("client_secret: ")]
    assert len(lines) == 1
    secret = lines[0].removeprefix("client_secret: ")
    listed = invoke(var_dir, "list")
    assert listed.stdout.startswith("vg-cochem.hundesteuer  vg-cochem  client_secret_basic")
    assert secret not in listed.stdout
    assert secret not in invoke(var_dir, "disable", "vg-cochem.hundesteuer").stdout


def test_cli_bad_input_names_every_option_and_stores_nothing(var_dir: Path) -> None:
    result = invoke(
        var_dir,
        *ADD,
        "--redirect-uri",
        "http://hunde.example/cb",
        "--scope",
        "phone",
        "--minimum-level",
        "3",
    )
    assert problems(result) == (
        "--redirect-uri: http://hunde.example/cb must use https "
        "(http only for 127.0.0.1 or localhost, RFC 8252 §7.3)",
        "--scope phone: Input should be 'openid', 'profile', 'email', 'address', 'birth', "
        "'organisation' or 'safe.deposit'",
        "--minimum-level: the minimum trust level 3 is above the default level 2",
    )
    assert json.loads(invoke(var_dir, "list", "--json").stdout) == []


def test_cli_unknown_authority_duplicate_and_unknown_client(var_dir: Path) -> None:
    unknown = [*ADD[:5], "--authority", "vg-nirgendwo", *ADD[7:]]
    assert problems(invoke(var_dir, *unknown)) == (
        "no authority 'vg-nirgendwo': create it first (servicekonto demo)",
    )
    assert invoke(var_dir, *ADD).exit_code == 0
    assert problems(invoke(var_dir, *ADD)) == (
        "a client with the id 'vg-cochem.hundesteuer' is already registered",
    )
    assert problems(invoke(var_dir, "rotate-secret", "nope-nope")) == (
        "no client with the id 'nope-nope'",
    )
    assert problems(invoke(var_dir, "list", "--authority", "vg-nirgendwo"))


def test_cli_private_key_jwt_with_a_jwks_file(var_dir: Path, tmp_path: Path) -> None:
    public, private = tmp_path / "public.json", tmp_path / "private.json"
    public.write_text(json.dumps(public_jwks()), encoding="utf-8")
    key = ECKey.generate_key("P-256").as_dict(private=True)
    private.write_text(json.dumps({"keys": [key]}), encoding="utf-8")
    jwt_add = [*ADD, "--auth-method", "private_key_jwt", "--json"]

    refused = problems(invoke(var_dir, *jwt_add, "--jwks-file", str(private)))
    assert len(refused) == 1 and refused[0].startswith("--jwks-file: key 0 of the JWKS holds")
    assert problems(invoke(var_dir, *jwt_add, "--jwks-file", str(tmp_path / "nope.json")))

    added = invoke(var_dir, *jwt_add, "--jwks-file", str(public))
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["client_secret"] is None
    assert "shown only this once" not in added.stderr
    assert problems(invoke(var_dir, "rotate-secret", "vg-cochem.hundesteuer")) == (
        "the client 'vg-cochem.hundesteuer' authenticates with private_key_jwt, not with a "
        "client secret; it has no secret to rotate",
    )


def test_cli_registers_a_userinfo_signing_algorithm(var_dir: Path) -> None:
    added = invoke(var_dir, *ADD, "--userinfo-alg", "RS256", "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["userinfo_signed_response_alg"] == "RS256"
    refused = invoke(var_dir, *ADD[:2], "vg-cochem.other", *ADD[3:], "--userinfo-alg", "none")
    assert any(problem.startswith("--userinfo-alg") for problem in problems(refused))
