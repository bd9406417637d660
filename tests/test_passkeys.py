"""Passkey ceremonies against a software authenticator written here from the WebAuthn spec.

The authenticator makes a real P-256 key, builds authenticatorData, a "none" attestation object
and clientDataJSON byte by byte (W3C WebAuthn Level 2 §6.1, §6.5.4, §8.7, §5.8.1) and signs
assertions (§6.3.3), then hands the service the JSON a browser would send. Nothing of the
service or of py_webauthn is used to build it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from servicekonto.accounts.models import LoginSession, Person, WebAuthnCredential
from servicekonto.accounts.passkeys import PasskeyError, PasskeyService
from servicekonto.clock import FixedClock
from servicekonto.store.engine import Database
from tests.factories import add_person

RP_ID = "localhost"
ORIGIN = "http://localhost:8000"
FLAG_UP, FLAG_UV, FLAG_AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- the software authenticator ---------------------------------------------------------------


@dataclass
class SoftwareAuthenticator:
    rp_id: str = RP_ID
    origin: str = ORIGIN
    sign_count: int = 0
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    user_handle: bytes | None = None

    def cose_public_key(self) -> bytes:
        """RFC 9053 §7.1.1 / WebAuthn §5.8.5: an EC2 key on P-256 for ES256."""
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def authenticator_data(self, flags: int, attested: bytes = b"") -> bytes:
        """WebAuthn §6.1: rpIdHash (32) || flags (1) || signCount (4, big-endian) || ..."""
        rp_id_hash = hashlib.sha256(self.rp_id.encode()).digest()
        return rp_id_hash + bytes([flags]) + struct.pack(">I", self.sign_count) + attested

    def client_data(self, kind: str, challenge: str, origin: str | None = None) -> bytes:
        """WebAuthn §5.8.1: what the browser says it was asked, by whom, and where."""
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps({**data, "crossOrigin": False}).encode()

    def create(
        self, options_json: str, *, origin: str | None = None, challenge: str | None = None
    ) -> str:
        """navigator.credentials.create() and the JSON serialisation of its result."""
        options = json.loads(options_json)
        self.user_handle = from_b64url(options["user"]["id"])
        client_data = self.client_data("webauthn.create", challenge or options["challenge"], origin)
        # WebAuthn §6.5.1: AAGUID (16) || L (2) || credentialId (L) || credentialPublicKey.
        attested = (
            bytes(16)
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self.cose_public_key()
        )
        auth_data = self.authenticator_data(FLAG_UP | FLAG_UV | FLAG_AT, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal", "hybrid"],
                },
            }
        )

    def get(
        self,
        options_json: str,
        *,
        count_up: bool = True,
        origin: str | None = None,
        signing_key: ec.EllipticCurvePrivateKey | None = None,
        user_handle: bytes | None = None,
    ) -> str:
        """navigator.credentials.get(): sign authenticatorData || SHA-256(clientDataJSON)."""
        options = json.loads(options_json)
        if count_up:
            self.sign_count += 1
        client_data = self.client_data("webauthn.get", options["challenge"], origin)
        auth_data = self.authenticator_data(FLAG_UP | FLAG_UV)
        signed = auth_data + hashlib.sha256(client_data).digest()
        key = signing_key or self.private_key
        signature = key.sign(signed, ec.ECDSA(hashes.SHA256()))
        handle = user_handle or self.user_handle
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                    "userHandle": b64url(handle) if handle else None,
                },
            }
        )


# --- fixtures ---------------------------------------------------------------------------------


def add_login_session(session: Session, person: Person, now: datetime) -> LoginSession:
    login = LoginSession(
        token_digest=os.urandom(32).hex(),
        person_id=person.id,
        created_at=now,
        authenticated_at=now,
        last_seen_at=now,
        idle_expires_at=now + timedelta(minutes=30),
        absolute_expires_at=now + timedelta(hours=2),
        methods=["pwd"],
        second_factor_pending=True,
    )
    session.add(login)
    session.flush()
    return login


def new_service() -> PasskeyService:
    return PasskeyService(rp_id=RP_ID, rp_name="ServiceKonto Cochem-Zell", origin=ORIGIN)


@dataclass
class Ceremony:
    """One person in one login session with one authenticator, all in one database session."""

    session: Session
    person: Person
    login: LoginSession
    now: datetime
    authenticator: SoftwareAuthenticator = field(default_factory=SoftwareAuthenticator)
    service: PasskeyService = field(default_factory=new_service)

    def registration_options(self, at: datetime | None = None) -> str:
        return self.service.registration_options(
            self.session, self.person, self.login, at or self.now
        )

    def register(
        self, answer: str, name: str = "Laptop", at: datetime | None = None
    ) -> WebAuthnCredential:
        return self.service.register(
            self.session, self.person, self.login, answer, name=name, now=at or self.now
        )

    def authentication_options(self, at: datetime | None = None) -> str:
        return self.service.authentication_options(
            self.session, self.person.id, self.login, at or self.now
        )

    def authenticate(self, answer: str, at: datetime | None = None) -> WebAuthnCredential:
        return self.service.authenticate(
            self.session, self.person.id, self.login, answer, at or self.now
        )

    def enrol(self) -> WebAuthnCredential:
        return self.register(self.authenticator.create(self.registration_options()))

    def other_person(self, email: str = "mallory@example.de") -> Ceremony:
        person = add_person(self.session, email, self.now)
        login = add_login_session(self.session, person, self.now)
        return Ceremony(self.session, person, login, self.now)


@pytest.fixture
def ceremony(db: Database, clock: FixedClock) -> Iterator[Ceremony]:
    now = clock.now()
    with db.unit_of_work() as uow:
        person = add_person(uow.session, "lena@example.de", now)
        yield Ceremony(uow.session, person, add_login_session(uow.session, person, now), now)


@pytest.fixture
def registered(ceremony: Ceremony) -> WebAuthnCredential:
    return ceremony.enrol()


def refused(ceremony_step: Callable[[], object]) -> str:
    """The message id of the PasskeyError the step raises (any other exception fails the test)."""
    with pytest.raises(PasskeyError) as raised:
        ceremony_step()
    return raised.value.message_id


# --- registration -----------------------------------------------------------------------------


def test_registration_options_ask_for_a_passkey_of_this_person(ceremony: Ceremony) -> None:
    options = json.loads(ceremony.registration_options())
    assert options["rp"] == {"id": RP_ID, "name": "ServiceKonto Cochem-Zell"}
    assert options["user"] == {
        "id": b64url(ceremony.person.id.bytes),
        "name": "lena@example.de",
        "displayName": "Anna Schmitt",
    }
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["excludeCredentials"] == []
    assert options["timeout"] == 300_000
    assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"]
    assert len(from_b64url(options["challenge"])) >= 16
    assert ceremony.login.webauthn_challenge == {
        "purpose": "register",
        "challenge": options["challenge"],
        "expires_at": (ceremony.now + timedelta(minutes=5)).isoformat(),
    }


def test_registration_stores_the_credential_and_consumes_the_challenge(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    assert registered.person_id == ceremony.person.id
    assert registered.credential_id == ceremony.authenticator.credential_id
    assert registered.public_key == ceremony.authenticator.cose_public_key()
    assert registered.sign_count == 0
    assert registered.transports == ["internal", "hybrid"]
    assert registered.name == "Laptop"
    assert registered.created_at == ceremony.now
    assert registered.last_used_at is None
    assert ceremony.login.webauthn_challenge is None


def test_existing_credentials_are_excluded_from_a_new_registration(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    options = json.loads(ceremony.registration_options())
    assert options["excludeCredentials"] == [
        {
            "id": b64url(registered.credential_id),
            "type": "public-key",
            "transports": ["internal", "hybrid"],
        }
    ]


def test_the_same_response_cannot_be_used_twice(ceremony: Ceremony) -> None:
    answer = ceremony.authenticator.create(ceremony.registration_options())
    ceremony.register(answer)
    assert refused(lambda: ceremony.register(answer)) == "passkey.challenge_missing"


def test_a_registered_credential_cannot_be_registered_again(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    # An authenticator ignoring excludeCredentials: refused with a message, not a 500.
    answer = ceremony.authenticator.create(ceremony.registration_options())
    assert refused(lambda: ceremony.register(answer)) == "passkey.already_registered"


def test_wrong_origin_is_refused_and_still_consumes_the_challenge(
    db: Database, clock: FixedClock
) -> None:
    now, authenticator = clock.now(), SoftwareAuthenticator()

    def reloaded(uow_session: Session, person_id: uuid.UUID, login_id: uuid.UUID) -> Ceremony:
        person = uow_session.get_one(Person, person_id)
        login = uow_session.get_one(LoginSession, login_id)
        return Ceremony(uow_session, person, login, now, authenticator)

    with db.unit_of_work() as uow:
        person = add_person(uow.session, "lena@example.de", now)
        login = add_login_session(uow.session, person, now)
        options = Ceremony(uow.session, person, login, now).registration_options()
        uow.commit()
    with db.unit_of_work() as uow:
        ceremony = reloaded(uow.session, person.id, login.id)
        phished = authenticator.create(options, origin="https://servicekonto.example.net")
        assert refused(lambda: ceremony.register(phished)) == "passkey.failed"
        uow.commit()  # the caller commits after a failed ceremony, so the consumption sticks
    with db.unit_of_work() as uow:
        ceremony = reloaded(uow.session, person.id, login.id)
        assert ceremony.login.webauthn_challenge is None
        genuine = authenticator.create(options)
        assert refused(lambda: ceremony.register(genuine)) == "passkey.challenge_missing"


def test_wrong_challenge_is_refused(ceremony: Ceremony) -> None:
    options = ceremony.registration_options()
    answer = ceremony.authenticator.create(options, challenge=b64url(os.urandom(64)))
    assert refused(lambda: ceremony.register(answer)) == "passkey.failed"


def test_wrong_relying_party_is_refused(ceremony: Ceremony) -> None:
    other_rp = SoftwareAuthenticator(rp_id="servicekonto.example.net")
    answer = other_rp.create(ceremony.registration_options())
    assert refused(lambda: ceremony.register(answer)) == "passkey.failed"


def test_expired_challenge_is_refused(ceremony: Ceremony) -> None:
    answer = ceremony.authenticator.create(ceremony.registration_options())
    later = ceremony.now + timedelta(minutes=6)
    assert refused(lambda: ceremony.register(answer, at=later)) == "passkey.challenge_expired"


def test_challenge_is_valid_until_just_before_five_minutes(ceremony: Ceremony) -> None:
    answer = ceremony.authenticator.create(ceremony.registration_options())
    assert ceremony.register(answer, at=ceremony.now + timedelta(minutes=5, seconds=-1))


def test_an_authentication_challenge_does_not_register(ceremony: Ceremony) -> None:
    challenge = json.loads(ceremony.authentication_options())["challenge"]
    asked = {"challenge": challenge, "user": {"id": b64url(ceremony.person.id.bytes)}}
    answer = ceremony.authenticator.create(json.dumps(asked))
    assert refused(lambda: ceremony.register(answer)) == "passkey.challenge_missing"


def test_registration_without_options_is_refused(ceremony: Ceremony) -> None:
    invented = json.dumps({"challenge": b64url(os.urandom(32)), "user": {"id": ""}})
    answer = ceremony.authenticator.create(invented)
    assert refused(lambda: ceremony.register(answer)) == "passkey.challenge_missing"


def test_the_login_session_must_belong_to_the_person(ceremony: Ceremony) -> None:
    mallory = ceremony.other_person()
    in_lenas_session = Ceremony(ceremony.session, mallory.person, ceremony.login, ceremony.now)
    assert refused(in_lenas_session.registration_options) == "passkey.failed"
    assert refused(in_lenas_session.authentication_options) == "passkey.failed"


def test_the_name_is_tidied(ceremony: Ceremony) -> None:
    def register(name: str) -> str:
        answer = SoftwareAuthenticator().create(ceremony.registration_options())
        return ceremony.register(answer, name=name).name

    assert register("  Mein   Handy \n") == "Mein Handy"
    assert register("   ") == "Passkey"
    assert len(register("x" * 500)) == 100


ATTESTATION_NOT_CBOR = {
    "id": "AAAA",
    "rawId": "AAAA",
    "type": "public-key",
    "response": {"clientDataJSON": "e30", "attestationObject": "__8"},
}


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "null",
        "[]",
        "{}",
        "not json at all",
        json.dumps({"id": 1, "rawId": 2}),
        json.dumps({**ATTESTATION_NOT_CBOR, "type": "password"}),
        json.dumps(ATTESTATION_NOT_CBOR),
        json.dumps({**ATTESTATION_NOT_CBOR, "rawId": "!!!"}),
        json.dumps({**ATTESTATION_NOT_CBOR, "response": {"clientDataJSON": "%%%"}}),
        "{" * 100_000,
    ],
    ids=[
        "empty",
        "null",
        "list",
        "object",
        "text",
        "wrong-types",
        "wrong-type",
        "not-cbor",
        "bad-raw-id",
        "bad-base64",
        "huge",
    ],
)
def test_malformed_registration_answers_are_passkey_errors(
    ceremony: Ceremony, garbage: str
) -> None:
    ceremony.registration_options()
    assert refused(lambda: ceremony.register(garbage)) == "passkey.failed"


# --- authentication ---------------------------------------------------------------------------


def test_authentication_options_allow_only_the_persons_credentials(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    options = json.loads(ceremony.authentication_options())
    assert options["rpId"] == RP_ID
    assert options["userVerification"] == "preferred"
    assert options["allowCredentials"] == [
        {
            "id": b64url(registered.credential_id),
            "type": "public-key",
            "transports": ["internal", "hybrid"],
        }
    ]
    assert ceremony.login.webauthn_challenge is not None
    assert ceremony.login.webauthn_challenge["purpose"] == "authenticate"


def test_authentication_with_a_valid_assertion_updates_the_counter(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    for minute in (1, 2):
        at = ceremony.now + timedelta(minutes=minute)
        answer = ceremony.authenticator.get(ceremony.authentication_options(at))
        used = ceremony.authenticate(answer, at)
        assert used.id == registered.id
        assert used.sign_count == ceremony.authenticator.sign_count == minute
        assert used.last_used_at == at
        assert ceremony.login.webauthn_challenge is None


def test_authenticators_without_a_counter_keep_working(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    # WebAuthn §6.1.1: a counter that stays zero means "no counter" (typical of synced passkeys).
    for _ in range(2):
        answer = ceremony.authenticator.get(ceremony.authentication_options(), count_up=False)
        assert ceremony.authenticate(answer).sign_count == 0


def test_a_counter_that_does_not_grow_signals_a_cloned_authenticator(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    ceremony.authenticate(ceremony.authenticator.get(ceremony.authentication_options()))
    clone = ceremony.authenticator.get(ceremony.authentication_options(), count_up=False)
    assert refused(lambda: ceremony.authenticate(clone)) == "passkey.cloned_authenticator"
    assert registered.sign_count == 1


def test_a_counter_that_goes_back_is_refused(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    ceremony.authenticator.sign_count = 41
    ceremony.authenticate(ceremony.authenticator.get(ceremony.authentication_options()))
    ceremony.authenticator.sign_count = 7
    behind = ceremony.authenticator.get(ceremony.authentication_options())
    assert refused(lambda: ceremony.authenticate(behind)) == "passkey.cloned_authenticator"
    assert registered.sign_count == 42


def test_an_assertion_cannot_be_replayed(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    answer = ceremony.authenticator.get(ceremony.authentication_options())
    ceremony.authenticate(answer)
    assert refused(lambda: ceremony.authenticate(answer)) == "passkey.challenge_missing"


def test_a_signature_by_another_key_is_refused(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    other_key = ec.generate_private_key(ec.SECP256R1())
    forged = ceremony.authenticator.get(ceremony.authentication_options(), signing_key=other_key)
    assert refused(lambda: ceremony.authenticate(forged)) == "passkey.failed"
    assert registered.sign_count == 0
    assert registered.last_used_at is None


def test_tampered_authenticator_data_is_refused(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    answer: dict[str, Any] = json.loads(
        ceremony.authenticator.get(ceremony.authentication_options())
    )
    data = bytearray(from_b64url(answer["response"]["authenticatorData"]))
    data[36] += 1  # a higher counter than was signed
    answer["response"]["authenticatorData"] = b64url(bytes(data))
    assert refused(lambda: ceremony.authenticate(json.dumps(answer))) == "passkey.failed"


def test_wrong_origin_assertion_is_refused(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    options = ceremony.authentication_options()
    phished = ceremony.authenticator.get(options, origin="https://servicekonto.example.net")
    assert refused(lambda: ceremony.authenticate(phished)) == "passkey.failed"


def test_a_credential_of_another_person_is_refused(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    mallory = ceremony.other_person()
    options = mallory.authentication_options()
    assert json.loads(options)["allowCredentials"] == []
    lenas_answer = ceremony.authenticator.get(options)
    assert refused(lambda: mallory.authenticate(lenas_answer)) == "passkey.unknown_credential"


def test_an_unknown_credential_is_refused(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    stranger = SoftwareAuthenticator().get(ceremony.authentication_options())
    assert refused(lambda: ceremony.authenticate(stranger)) == "passkey.unknown_credential"


def test_a_foreign_user_handle_is_refused(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    options = ceremony.authentication_options()
    answer = ceremony.authenticator.get(options, user_handle=uuid.uuid4().bytes)
    assert refused(lambda: ceremony.authenticate(answer)) == "passkey.failed"


def test_authentication_with_a_registration_challenge_is_refused(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    answer = ceremony.authenticator.get(ceremony.registration_options())
    assert refused(lambda: ceremony.authenticate(answer)) == "passkey.challenge_missing"


def test_expired_authentication_challenge_is_refused(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    answer = ceremony.authenticator.get(ceremony.authentication_options())
    later = ceremony.now + timedelta(minutes=6)
    assert refused(lambda: ceremony.authenticate(answer, later)) == "passkey.challenge_expired"


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "{}",
        "[1]",
        json.dumps({"id": "AAAA", "rawId": "AAAA", "type": "public-key"}),
        json.dumps(
            {
                "id": "AAAA",
                "rawId": "AAAA",
                "type": "public-key",
                "response": {"clientDataJSON": "", "authenticatorData": "", "signature": ""},
            }
        ),
    ],
    ids=["empty", "object", "list", "no-response", "empty-fields"],
)
def test_malformed_assertions_are_passkey_errors(
    ceremony: Ceremony, registered: WebAuthnCredential, garbage: str
) -> None:
    ceremony.authentication_options()
    refused(lambda: ceremony.authenticate(garbage))


def test_malformed_assertion_of_a_known_credential_is_a_passkey_error(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    answer: dict[str, Any] = json.loads(
        ceremony.authenticator.get(ceremony.authentication_options())
    )
    answer["response"]["authenticatorData"] = b64url(b"short")
    answer["response"]["signature"] = b64url(b"\x30\x00")
    assert refused(lambda: ceremony.authenticate(json.dumps(answer))) == "passkey.failed"


# --- management -------------------------------------------------------------------------------


def test_credentials_are_listed_and_removed_only_by_their_owner(
    ceremony: Ceremony, registered: WebAuthnCredential
) -> None:
    service, session, lena = ceremony.service, ceremony.session, ceremony.person.id
    mallory = ceremony.other_person().person.id
    assert service.list_credentials(session, lena) == [registered]
    assert service.list_credentials(session, mallory) == []
    assert not service.remove(session, mallory, registered.id)
    assert service.list_credentials(session, lena) == [registered]
    assert service.remove(session, lena, registered.id)
    assert service.list_credentials(session, lena) == []
    assert not service.remove(session, lena, registered.id)
