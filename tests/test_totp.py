"""TOTP enrolment and verification (RFC 6238), checked against an independent implementation.

Codes are computed here with a few lines of HMAC arithmetic written from the RFC (and checked
against its Appendix B test vectors), and with pyotp; the service must accept exactly what a
real authenticator app shows, once, within one step of clock drift.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import threading
import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pyotp
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from servicekonto.accounts.models import Person, TotpFactor
from servicekonto.accounts.totp import (
    SEED_BOX_PURPOSE,
    TotpAlreadyEnrolledError,
    TotpService,
    qr_svg,
)
from servicekonto.clock import FixedClock
from servicekonto.security.encryption import SecretBox
from servicekonto.store.engine import Database
from tests.conftest import TEST_SECRET_KEY
from tests.factories import add_person

STEP = timedelta(seconds=30)


# --- an independent RFC 6238 implementation ---------------------------------------------------


def reference_hotp(key: bytes, counter: int, digits: int) -> str:
    """RFC 4226 §5.3: HMAC-SHA-1 over the 8-byte counter, dynamic truncation, modulo 10^digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    (value,) = struct.unpack(">I", mac[offset : offset + 4])
    return str((value & 0x7FFFFFFF) % 10**digits).zfill(digits)


def reference_totp(secret_base32: str, at: datetime, digits: int = 6) -> str:
    """RFC 6238 §4.2: T = floor((unix time - T0) / X) with T0 = 0 and X = 30 seconds."""
    return reference_hotp(base64.b32decode(secret_base32), int(at.timestamp()) // 30, digits)


@pytest.mark.parametrize(
    ("unix_time", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_reference_implementation_matches_rfc6238_appendix_b(unix_time: int, expected: str) -> None:
    assert reference_hotp(b"12345678901234567890", unix_time // 30, 8) == expected


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def service() -> TotpService:
    return TotpService(SecretBox(TEST_SECRET_KEY, SEED_BOX_PURPOSE))


def enrol(db: Database, service: TotpService, now: datetime, email: str) -> tuple[uuid.UUID, str]:
    """A person with a confirmed factor, confirmed five minutes before `now`."""
    confirmed_at = now - timedelta(minutes=5)
    with db.unit_of_work() as uow:
        person = add_person(uow.session, email, confirmed_at)
        secret = service.begin_enrolment(uow.session, person, confirmed_at).secret
        code = reference_totp(secret, confirmed_at)
        assert service.confirm_enrolment(uow.session, person.id, code, confirmed_at)
        uow.commit()
    return person.id, secret


def verify(
    db: Database, service: TotpService, person_id: uuid.UUID, code: str, now: datetime
) -> bool:
    with db.unit_of_work() as uow:
        result = service.verify(uow.session, person_id, code, now)
        uow.commit()
    return result


@pytest.fixture
def enrolled(db: Database, service: TotpService, clock: FixedClock) -> tuple[uuid.UUID, str]:
    return enrol(db, service, clock.now(), "anna@example.de")


# --- enrolment --------------------------------------------------------------------------------


def test_enrolment_offers_a_160_bit_seed_as_text_uri_and_qr_code(
    db: Database, service: TotpService, clock: FixedClock
) -> None:
    with db.unit_of_work() as uow:
        person = add_person(uow.session, "anna@example.de", clock.now())
        enrolment = service.begin_enrolment(uow.session, person, clock.now())
    assert len(base64.b32decode(enrolment.secret)) == 20
    uri = urlsplit(enrolment.provisioning_uri)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert uri.path == "/ServiceKonto:anna%40example.de"
    query = {name: values[0] for name, values in parse_qs(uri.query).items()}
    assert query["secret"] == enrolment.secret
    assert query["issuer"] == "ServiceKonto"
    # The Key URI Format's defaults, which pyotp leaves out when they apply.
    assert query.get("algorithm", "SHA1") == "SHA1"
    assert query.get("digits", "6") == "6"
    assert query.get("period", "30") == "30"


def test_qr_code_is_inline_svg_fit_for_a_strict_csp(
    db: Database, service: TotpService, clock: FixedClock
) -> None:
    with db.unit_of_work() as uow:
        person = add_person(uow.session, "anna@example.de", clock.now())
        svg = service.begin_enrolment(uow.session, person, clock.now()).qr_svg
    root = ElementTree.fromstring(svg)  # noqa: S314 -- our own markup; proves it well-formed
    assert root.tag == "svg"
    assert (root.get("width"), root.get("height"), root.get("role")) == ("200", "200", "img")
    assert root.get("aria-label")
    assert root.find("title") is not None
    assert root.get("viewBox")
    lowered = svg.lower()
    for forbidden in ("<?xml", "<script", "style=", "javascript:", " on"):
        assert forbidden not in lowered


def test_qr_label_is_escaped() -> None:
    svg = qr_svg("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", label='Code "A" <b>&')
    root = ElementTree.fromstring(svg)  # noqa: S314 -- our own markup
    assert root.get("aria-label") == 'Code "A" <b>&'
    assert root.findtext("title") == 'Code "A" <b>&'


def test_factor_counts_only_once_confirmed(
    db: Database, service: TotpService, clock: FixedClock
) -> None:
    now = clock.now()
    with db.unit_of_work() as uow:
        person = add_person(uow.session, "anna@example.de", now)
        secret = service.begin_enrolment(uow.session, person, now).secret
        assert not service.is_enrolled(uow.session, person.id)
        assert not service.verify(uow.session, person.id, reference_totp(secret, now), now)
        assert not service.confirm_enrolment(uow.session, person.id, "000000", now)
        assert service.confirm_enrolment(uow.session, person.id, reference_totp(secret, now), now)
        assert service.is_enrolled(uow.session, person.id)
        # Confirming again is meaningless, even with a fresh code.
        later = now + STEP
        assert not service.confirm_enrolment(
            uow.session, person.id, reference_totp(secret, later), later
        )


def test_the_confirmation_code_cannot_be_replayed_to_log_in(
    db: Database, service: TotpService, clock: FixedClock
) -> None:
    now = clock.now()
    with db.unit_of_work() as uow:
        person = add_person(uow.session, "anna@example.de", now)
        secret = service.begin_enrolment(uow.session, person, now).secret
        code = reference_totp(secret, now)
        assert service.confirm_enrolment(uow.session, person.id, code, now)
        assert not service.verify(uow.session, person.id, code, now)


def test_enrolling_again_before_confirming_replaces_the_seed(
    db: Database, service: TotpService, clock: FixedClock
) -> None:
    now = clock.now()
    with db.unit_of_work() as uow:
        person = add_person(uow.session, "anna@example.de", now)
        abandoned = service.begin_enrolment(uow.session, person, now).secret
        current = service.begin_enrolment(uow.session, person, now).secret
        assert abandoned != current
        assert not service.confirm_enrolment(
            uow.session, person.id, reference_totp(abandoned, now), now
        )
        assert service.confirm_enrolment(uow.session, person.id, reference_totp(current, now), now)
        assert uow.session.scalar(select(TotpFactor.id).where(TotpFactor.person_id == person.id))


def test_enrolling_over_a_confirmed_factor_is_refused(
    db: Database, service: TotpService, clock: FixedClock, enrolled: tuple[uuid.UUID, str]
) -> None:
    person_id, secret = enrolled
    with db.unit_of_work() as uow:
        person = uow.session.get_one(Person, person_id)
        with pytest.raises(TotpAlreadyEnrolledError) as raised:
            service.begin_enrolment(uow.session, person, clock.now())
    assert raised.value.message_id == "totp.already_enrolled"
    assert verify(db, service, person_id, reference_totp(secret, clock.now()), clock.now())


def test_removed_factor_no_longer_verifies_and_can_be_enrolled_anew(
    db: Database, service: TotpService, clock: FixedClock, enrolled: tuple[uuid.UUID, str]
) -> None:
    person_id, secret = enrolled
    now = clock.now()
    with db.unit_of_work() as uow:
        service.remove(uow.session, person_id)
        assert not service.is_enrolled(uow.session, person_id)
        assert not service.verify(uow.session, person_id, reference_totp(secret, now), now)
        person = uow.session.get_one(Person, person_id)
        assert service.begin_enrolment(uow.session, person, now).secret != secret
        uow.commit()


# --- verification -----------------------------------------------------------------------------


def test_codes_of_pyotp_and_of_the_reference_agree_and_verify(
    db: Database, service: TotpService, clock: FixedClock, enrolled: tuple[uuid.UUID, str]
) -> None:
    person_id, secret = enrolled
    now = clock.now()
    code = reference_totp(secret, now)
    assert pyotp.TOTP(secret).at(now) == code
    assert verify(db, service, person_id, code, now)


@pytest.mark.parametrize("steps", [-1, 0, 1])
def test_one_step_of_clock_drift_either_way_is_accepted(
    db: Database,
    service: TotpService,
    clock: FixedClock,
    enrolled: tuple[uuid.UUID, str],
    steps: int,
) -> None:
    person_id, secret = enrolled
    now = clock.now()
    assert verify(db, service, person_id, reference_totp(secret, now + steps * STEP), now)


@pytest.mark.parametrize("steps", [-3, -2, 2, 3])
def test_codes_further_off_are_rejected(
    db: Database,
    service: TotpService,
    clock: FixedClock,
    enrolled: tuple[uuid.UUID, str],
    steps: int,
) -> None:
    person_id, secret = enrolled
    now = clock.now()
    assert not verify(db, service, person_id, reference_totp(secret, now + steps * STEP), now)


def test_a_code_is_accepted_only_once(
    db: Database, service: TotpService, clock: FixedClock, enrolled: tuple[uuid.UUID, str]
) -> None:
    person_id, secret = enrolled
    now = clock.now()
    code = reference_totp(secret, now)
    assert verify(db, service, person_id, code, now)
    assert not verify(db, service, person_id, code, now)
    assert not verify(db, service, person_id, code, now + STEP)  # still inside the drift window


def test_after_a_later_step_earlier_codes_are_replays(
    db: Database, service: TotpService, clock: FixedClock, enrolled: tuple[uuid.UUID, str]
) -> None:
    person_id, secret = enrolled
    now = clock.now()
    assert verify(db, service, person_id, reference_totp(secret, now + STEP), now)
    assert not verify(db, service, person_id, reference_totp(secret, now), now)
    assert not verify(db, service, person_id, reference_totp(secret, now - STEP), now)
    later = now + 2 * STEP
    assert verify(db, service, person_id, reference_totp(secret, later), later)


def test_spaces_as_authenticator_apps_show_them_are_ignored(
    db: Database, service: TotpService, clock: FixedClock, enrolled: tuple[uuid.UUID, str]
) -> None:
    person_id, secret = enrolled
    now = clock.now()
    code = reference_totp(secret, now)
    assert verify(db, service, person_id, f" {code[:3]} {code[3:]}\n", now)


# U+FF10..U+FF19, the digits an East Asian input method types.
FULL_WIDTH = {ord("0") + digit: 0xFF10 + digit for digit in range(10)}


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        " ",
        "12345",
        "abcdef",
        "1234567",
        "123456".translate(FULL_WIDTH),
        "12345a",
        "+12345",
        "1" * 10_000,
    ],
    ids=[
        "empty",
        "blank",
        "5-digits",
        "letters",
        "7-digits",
        "full-width",
        "mixed",
        "sign",
        "huge",
    ],
)
def test_malformed_codes_are_rejected_without_error(
    db: Database,
    service: TotpService,
    clock: FixedClock,
    enrolled: tuple[uuid.UUID, str],
    malformed: str,
) -> None:
    person_id, _ = enrolled
    assert not verify(db, service, person_id, malformed, clock.now())


def test_the_right_code_in_full_width_digits_is_rejected(
    db: Database, service: TotpService, clock: FixedClock, enrolled: tuple[uuid.UUID, str]
) -> None:
    # Decision: a code is six ASCII digits. pyotp's comparison NFKC-normalises, which would let
    # other scripts' digits through; we check the form before comparing, so they are refused.
    person_id, secret = enrolled
    now = clock.now()
    code = reference_totp(secret, now)
    assert not verify(db, service, person_id, code.translate(FULL_WIDTH), now)
    assert verify(db, service, person_id, code, now)


def test_unknown_person_does_not_verify(
    db: Database, service: TotpService, clock: FixedClock
) -> None:
    assert not verify(db, service, uuid.uuid4(), "123456", clock.now())


# --- the seed at rest -------------------------------------------------------------------------


def test_the_seed_is_stored_encrypted(db: Database, enrolled: tuple[uuid.UUID, str]) -> None:
    person_id, secret = enrolled
    with db.session() as session:
        stored = session.scalars(
            select(TotpFactor.secret_encrypted).where(TotpFactor.person_id == person_id)
        ).one()
    assert stored.startswith("v1.")
    assert secret not in stored
    assert secret.lower() not in stored.lower()


def test_a_seed_copied_to_another_persons_row_does_not_verify(
    db: Database, service: TotpService, clock: FixedClock, enrolled: tuple[uuid.UUID, str]
) -> None:
    victim_id, victim_secret = enrolled
    attacker_id, _ = enrol(db, service, clock.now(), "mallory@example.de")
    with db.unit_of_work() as uow:
        sealed = uow.session.scalars(
            select(TotpFactor.secret_encrypted).where(TotpFactor.person_id == victim_id)
        ).one()
        uow.session.execute(
            update(TotpFactor)
            .where(TotpFactor.person_id == attacker_id)
            .values(secret_encrypted=sealed)
        )
        uow.commit()
    now = clock.now()
    assert not verify(db, service, attacker_id, reference_totp(victim_secret, now), now)


def test_a_seed_sealed_under_another_secret_key_does_not_verify(
    db: Database, clock: FixedClock, enrolled: tuple[uuid.UUID, str]
) -> None:
    person_id, secret = enrolled
    other = TotpService(SecretBox(TEST_SECRET_KEY + "-rotated", SEED_BOX_PURPOSE))
    now = clock.now()
    assert not verify(db, other, person_id, reference_totp(secret, now), now)


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_two_concurrent_uses_of_one_code_give_exactly_one_success(
    race_db: Database, service: TotpService, clock: FixedClock
) -> None:
    now = clock.now()
    person_id, secret = enrol(race_db, service, now, "anna@example.de")
    code = reference_totp(secret, now)
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def attempt() -> None:
        with race_db.unit_of_work() as uow:
            uow.session.get_one(TotpFactor, _factor_id(uow.session, person_id))
            barrier.wait(timeout=10)  # both have read the factor before either claims the step
            results.append(service.verify(uow.session, person_id, code, now))
            uow.commit()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]


def _factor_id(session: Session, person_id: uuid.UUID) -> uuid.UUID:
    return session.scalars(select(TotpFactor.id).where(TotpFactor.person_id == person_id)).one()
