"""Signing keys: bootstrap, rotation timing, the JWKS, sealing, the key ring's cache, the CLI.

Tokens are verified independently of joserfc: neither python-jose nor PyJWT is installed, so
`verify_independently` checks JWS signatures (RFC 7515 §5.2) with the `cryptography` primitives,
building the public keys from the published JWK members alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt
from sqlalchemy import select, update
from typer.testing import CliRunner

from servicekonto.audit.repository import AuditRepository
from servicekonto.cli.keys import Algorithm, keys_cli
from servicekonto.clock import FixedClock
from servicekonto.config import KeySettings, Settings
from servicekonto.keys.models import SigningKey
from servicekonto.keys.service import (
    SUPPORTED_ALGORITHMS,
    KeyRing,
    KeyService,
    NoSigningKeyError,
    UnsupportedAlgorithmError,
    generate_key,
)
from servicekonto.store.engine import Database
from tests.conftest import TEST_SECRET_KEY

LEAD = timedelta(minutes=KeySettings().publish_lead_minutes)
KEEP = timedelta(hours=KeySettings().keep_published_hours)
CACHE = timedelta(seconds=KeySettings().cache_seconds)
SECOND = timedelta(seconds=1)
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}  # RFC 7518 §6.2.2 and §6.3.2


# --- an independent JWS verifier (RFC 7515 compact serialisation, RFC 7518 §3.3/§3.4) -------


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _integer(value: str) -> int:
    return int.from_bytes(_b64decode(value), "big")


def verify_independently(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """The claims of a JWT whose signature verifies under the JWKS key its header names."""
    header_part, payload_part, signature_part = token.split(".")
    header = json.loads(_b64decode(header_part))
    jwk = next(key for key in jwks["keys"] if key["kid"] == header["kid"])
    assert jwk["alg"] == header["alg"]
    signing_input = f"{header_part}.{payload_part}".encode("ascii")
    signature = _b64decode(signature_part)
    if header["alg"] == "ES256":
        # RFC 7518 §3.4: the signature is R || S, 32 octets each; cryptography wants DER.
        numbers = ec.EllipticCurvePublicNumbers(
            _integer(jwk["x"]), _integer(jwk["y"]), ec.SECP256R1()
        )
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        numbers.public_key().verify(
            encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256())
        )
    else:
        assert header["alg"] == "RS256"
        public = rsa.RSAPublicNumbers(_integer(jwk["e"]), _integer(jwk["n"])).public_key()
        public.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    claims: dict[str, Any] = json.loads(_b64decode(payload_part))
    return claims


def rfc7638_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 §3: SHA-256 over the required members, sorted, without whitespace."""
    required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in required}, separators=(",", ":"))
    return _b64encode(hashlib.sha256(canonical.encode("utf-8")).digest())


# --- helpers ---------------------------------------------------------------------------------


def _kids(ring: KeyRing) -> set[str]:
    return {key["kid"] for key in ring.jwks()["keys"]}


def _states(service: KeyService) -> dict[str, str]:
    return {info.kid: info.state for info in service.list_keys()}


def _rows(db: Database) -> list[SigningKey]:
    with db.session() as session:
        return list(session.scalars(select(SigningKey)))


def _replace_sealed(db: Database, kid: str, sealed: str) -> None:
    with db.unit_of_work() as uow:
        uow.session.execute(
            update(SigningKey).where(SigningKey.kid == kid).values(private_jwk_sealed=sealed)
        )
        uow.commit()


@pytest.fixture
def service(settings: Settings, db: Database, clock: FixedClock) -> KeyService:
    return KeyService(settings, db, clock)


# --- bootstrap -------------------------------------------------------------------------------


def test_ensure_keys_creates_one_key_per_algorithm_once(service: KeyService, db: Database) -> None:
    service.ensure_keys()
    service.ensure_keys()
    keys = service.list_keys()
    assert sorted(info.alg for info in keys) == ["ES256", "RS256"]
    assert {info.state for info in keys} == {"signing"}
    with db.session() as session:
        assert len(AuditRepository(session).by_action("keys.created")) == 2


def test_a_fresh_installation_signs_at_once(
    service: KeyService, settings: Settings, db: Database, clock: FixedClock
) -> None:
    ring = KeyRing(settings, db, clock)
    with pytest.raises(NoSigningKeyError):
        ring.signing_key("ES256")
    info = service.rotate("ES256")
    assert info.state == "signing"
    assert info.activates_at == clock.now()
    assert ring.signing_key("ES256").kid == info.kid, "a miss re-reads the table at once"
    with pytest.raises(NoSigningKeyError):
        ring.signing_key("RS256")
    service.ensure_keys()
    assert ring.signing_key("RS256").alg == "RS256"
    assert ring.signing_key("ES256").kid == info.kid, "ensure_keys leaves an existing key alone"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def racing_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database behind a real connection pool, so concurrent callers really overlap."""
    if request.param == "postgresql":
        yield request.getfixturevalue("race_db")
        return
    path = tmp_path / "race.sqlite3"
    shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), path)
    database = Database.from_url(f"sqlite:///{path}")
    yield database
    database.dispose()


def test_instances_starting_together_create_one_key_per_algorithm(
    racing_db: Database, settings: Settings, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All four have seen "no keys" and generated theirs before any of them writes."""
    generated = threading.Barrier(4)

    def generate_then_wait(alg: str) -> Any:
        key = generate_key(alg)
        if alg == SUPPORTED_ALGORITHMS[-1]:
            generated.wait()
        return key

    monkeypatch.setattr("servicekonto.keys.service.generate_key", generate_then_wait)
    with ThreadPoolExecutor(max_workers=4) as pool:
        starts = [pool.submit(KeyService(settings, racing_db, clock).ensure_keys) for _ in range(4)]
        for start in starts:
            start.result()
    assert sorted(row.alg for row in _rows(racing_db)) == ["ES256", "RS256"]


# --- rotation --------------------------------------------------------------------------------


def test_rotation_publishes_first_signs_after_the_lead_and_retires_after_keep(
    service: KeyService, settings: Settings, db: Database, clock: FixedClock
) -> None:
    service.ensure_keys()
    ring = KeyRing(settings, db, clock)
    old = ring.signing_key("ES256").kid
    clock.advance(timedelta(days=3))

    new = service.rotate("ES256")
    assert new.state == "published"
    assert new.activates_at == clock.now() + LEAD
    clock.advance(CACHE)
    assert {old, new.kid} <= _kids(ring), "published before it signs"
    assert ring.signing_key("ES256").kid == old
    assert _states(service)[old] == "signing"
    clock.advance(new.activates_at - clock.now() - SECOND)
    assert ring.signing_key("ES256").kid == old

    clock.advance(SECOND)
    assert ring.signing_key("ES256").kid == new.kid
    states = _states(service)
    assert (states[old], states[new.kid]) == ("retiring", "signing")
    old_info = next(info for info in service.list_keys() if info.kid == old)
    assert old_info.expires_at == new.activates_at + KEEP

    clock.advance(KEEP - SECOND)
    assert old in _kids(ring)
    assert ring.key_for_kid(old) is not None
    clock.advance(SECOND)
    assert old not in _kids(ring)
    assert ring.key_for_kid(old) is None
    assert _states(service)[old] == "expired"
    rs256 = [info.state for info in service.list_keys() if info.alg == "RS256"]
    assert rs256 == ["signing"], "rotating ES256 leaves RS256 alone"


def test_rotating_twice_within_the_lead_retires_both_older_keys(
    service: KeyService, clock: FixedClock
) -> None:
    first = service.rotate("ES256")
    second = service.rotate("ES256")
    clock.advance(SECOND)
    third = service.rotate("ES256")
    expiry = {info.kid: info.expires_at for info in service.list_keys()}
    assert expiry[first.kid] == second.activates_at + KEEP
    assert expiry[second.kid] == third.activates_at + KEEP
    assert expiry[third.kid] is None


def test_each_rotation_is_audited(service: KeyService, db: Database) -> None:
    first = service.rotate("ES256", actor="cli")
    second = service.rotate("RS256", actor="staff:ops")
    third = service.rotate("ES256")
    with db.session() as session:
        events = AuditRepository(session).by_action("keys.rotated")
    assert [event.subject_id for event in events] == [first.kid, second.kid, third.kid]
    assert [event.actor for event in events] == ["cli", "staff:ops", "cli"]
    assert events[2].details["alg"] == "ES256"
    assert events[2].details["retiring"] == [first.kid]
    assert all(event.subject_type == "signing_key" for event in events)


def test_unknown_algorithms_are_refused(service: KeyService) -> None:
    with pytest.raises(UnsupportedAlgorithmError):
        service.rotate("HS256")
    assert {choice.value for choice in Algorithm} == set(SUPPORTED_ALGORITHMS)


# --- the JWKS and tokens ---------------------------------------------------------------------


@pytest.mark.parametrize("alg", SUPPORTED_ALGORITHMS)
def test_tokens_verify_with_an_independent_implementation(
    alg: str, service: KeyService, settings: Settings, db: Database, clock: FixedClock
) -> None:
    service.ensure_keys()
    ring = KeyRing(settings, db, clock)
    active = ring.signing_key(alg)
    claims = {"iss": settings.issuer, "sub": "abc", "aud": "client-1"}
    token = jwt.encode({"alg": active.alg, "kid": active.kid}, claims, active.key)

    published = json.loads(json.dumps(ring.jwks()))  # as a relying party receives it
    assert verify_independently(token, published) == claims
    header, _claims, signature = token.split(".")
    forged = _b64encode(json.dumps({**claims, "sub": "mallory"}).encode())
    with pytest.raises(InvalidSignature):
        verify_independently(f"{header}.{forged}.{signature}", published)

    own = ring.key_for_kid(active.kid)
    assert own is not None
    assert jwt.decode(token, own, algorithms=[alg]).claims == claims


def test_the_jwks_holds_public_members_only_with_kid_alg_and_use(
    service: KeyService, settings: Settings, db: Database, clock: FixedClock
) -> None:
    service.ensure_keys()
    keys = KeyRing(settings, db, clock).jwks()["keys"]
    assert [key["alg"] for key in keys] == ["ES256", "RS256"]
    for key in keys:
        assert key["use"] == "sig"
        assert not PRIVATE_MEMBERS & set(key)
    assert keys[0]["kty"] == "EC" and keys[0]["crv"] == "P-256"
    assert keys[1]["kty"] == "RSA" and len(_b64decode(keys[1]["n"])) * 8 == 3072


def test_the_kid_is_the_rfc7638_thumbprint(
    service: KeyService, settings: Settings, db: Database, clock: FixedClock
) -> None:
    service.ensure_keys()
    for key in KeyRing(settings, db, clock).jwks()["keys"]:
        assert key["kid"] == rfc7638_thumbprint(key)
    for row in _rows(db):
        assert row.kid == rfc7638_thumbprint(row.public_jwk)


# --- sealing ---------------------------------------------------------------------------------


def test_private_keys_are_stored_sealed(
    service: KeyService, settings: Settings, db: Database, clock: FixedClock
) -> None:
    service.ensure_keys()
    ring = KeyRing(settings, db, clock)
    for row in _rows(db):
        private = ring.signing_key(row.alg).key.as_dict(private=True)
        secret_members = [str(private[name]) for name in PRIVATE_MEMBERS & set(private)]
        assert secret_members
        assert row.private_jwk_sealed.startswith("v1.")
        assert not any(member in row.private_jwk_sealed for member in secret_members)
        assert not PRIVATE_MEMBERS & set(row.public_jwk)


def test_a_tampered_key_is_skipped_not_fatal(
    service: KeyService,
    settings: Settings,
    db: Database,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    old = service.rotate("ES256")
    new = service.rotate("ES256")
    clock.advance(LEAD)
    sealed = next(row.private_jwk_sealed for row in _rows(db) if row.kid == new.kid)
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    _replace_sealed(db, new.kid, flipped)

    ring = KeyRing(settings, db, clock)
    assert _kids(ring) == {old.kid}
    assert ring.signing_key("ES256").kid == old.kid, "the older, readable key still signs"
    assert ring.key_for_kid(new.kid) is None
    assert "signing key unreadable" in caplog.text
    assert new.kid in caplog.text
    assert TEST_SECRET_KEY not in caplog.text and flipped not in caplog.text


def test_a_sealed_key_copied_to_another_row_does_not_open(
    service: KeyService, settings: Settings, db: Database, clock: FixedClock
) -> None:
    es256 = service.rotate("ES256")
    rs256 = service.rotate("RS256")
    other = next(row.private_jwk_sealed for row in _rows(db) if row.kid == rs256.kid)
    _replace_sealed(db, es256.kid, other)

    ring = KeyRing(settings, db, clock)
    assert _kids(ring) == {rs256.kid}
    with pytest.raises(NoSigningKeyError):
        ring.signing_key("ES256")


# --- the key ring's cache --------------------------------------------------------------------


def test_the_key_ring_sees_a_rotation_elsewhere_after_cache_seconds(
    service: KeyService, settings: Settings, db: Database, clock: FixedClock
) -> None:
    service.ensure_keys()
    ring = KeyRing(settings, db, clock)
    before = _kids(ring)

    elsewhere = KeyService(settings, db, clock).rotate("ES256")
    assert _kids(ring) == before
    clock.advance(CACHE - SECOND)
    assert _kids(ring) == before
    clock.advance(SECOND)
    assert _kids(ring) == before | {elsewhere.kid}


def test_the_key_ring_serves_many_threads(
    service: KeyService, settings: Settings, db: Database, clock: FixedClock
) -> None:
    service.ensure_keys()
    uncached = settings.model_copy(update={"keys": KeySettings(cache_seconds=0)})
    ring = KeyRing(uncached, db, clock)

    def read(_: int) -> tuple[str, ...]:
        return (*sorted(_kids(ring)), ring.signing_key("ES256").kid)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = set(pool.map(read, range(40)))
    assert len(results) == 1


# --- the command line ------------------------------------------------------------------------


def test_cli_rotates_and_lists_keys(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"SERVICEKONTO_VAR_DIR": str(tmp_path / "var")}

    rotated = runner.invoke(keys_cli, ["rotate", "--json"], env=env)
    assert rotated.exit_code == 0, rotated.output
    es256 = json.loads(rotated.stdout)
    assert (es256["alg"], es256["state"]) == ("ES256", "signing")
    rs256 = json.loads(
        runner.invoke(keys_cli, ["rotate", "--alg", "RS256", "--json"], env=env).stdout
    )
    assert rs256["alg"] == "RS256"

    listed = runner.invoke(keys_cli, ["list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    keys = json.loads(listed.stdout)
    assert [(key["kid"], key["alg"]) for key in keys] == [
        (es256["kid"], "ES256"),
        (rs256["kid"], "RS256"),
    ]
    for key in keys:
        assert set(key) == {"kid", "alg", "state", "created_at", "activates_at", "expires_at"}
        assert datetime.fromisoformat(key["activates_at"]).utcoffset() == timedelta(0)
        assert key["expires_at"] is None

    text = runner.invoke(keys_cli, ["list"], env=env).stdout
    assert es256["kid"] in text and "signing" in text
    assert runner.invoke(keys_cli, ["rotate", "--alg", "HS256"], env=env).exit_code != 0
