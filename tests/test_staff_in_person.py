"""In-person identity checks by citizens' office staff: role, authority, level, and bad input."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from servicekonto.accounts.models import Person, StaffRole
from servicekonto.accounts.staff import NoSuchPersonError, StaffService
from servicekonto.app import create_app
from servicekonto.audit.models import AuditEvent
from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.registration.in_person import InPersonCheck
from servicekonto.store.engine import Database
from tests.cli_helpers import run_cli
from tests.web_helpers import EMAIL, Browser, RecordingMailSender, cheap_settings

STAFF_EMAIL = "buergerbuero@vg-test.example"
CHECK = {"document_type": "id_card", "last4": "c4f7", "decision": "confirmed"}


@pytest.fixture
def staff_app(settings: Settings, db: Database, clock: FixedClock) -> FastAPI:
    for slug in ("vg-test", "vg-other"):
        AuthorityService(db, clock).ensure(
            AuthoritySpec(slug=slug, name=slug.upper(), kind=AuthorityKind.MUNICIPAL_ASSOCIATION),
            actor="test",
        )
    return create_app(
        cheap_settings(settings), database=db, clock=clock, mail_sender=RecordingMailSender()
    )


def _registered(app: FastAPI, email: str) -> Browser:
    browser = Browser(app)
    mail: RecordingMailSender = app.state.accounts.notifier._sender
    browser.register(email=email)
    browser.confirm(mail.last_link(email))
    return browser


def _prove(db: Database, email: str) -> None:
    with db.unit_of_work() as uow:
        person = uow.session.scalars(select(Person).filter_by(email=email)).one()
        person.identity_proofing = "registry_letter"
        uow.commit()


def _staff_at_level_3(app: FastAPI, db: Database, clock: FixedClock, authority: str) -> Browser:
    staff = _registered(app, STAFF_EMAIL)
    _prove(db, STAFF_EMAIL)
    found = AuthorityService(db, clock).by_slug(authority)
    assert found is not None
    StaffService(db, clock).add(STAFF_EMAIL, found.id, StaffRole.CITIZENS_OFFICE, "test")
    staff.login(email=STAFF_EMAIL)
    seed, _ = staff.enrol_totp(clock.now())
    staff.logout()
    clock.advance(timedelta(seconds=30))
    staff.login(email=STAFF_EMAIL)
    code = pyotp.TOTP(seed).at(clock.now())
    done = staff.post("/login/second-factor", {"method": "totp", "code": code, "next": "/"})
    assert done.status_code == 303, done.text
    return staff


def _citizen_id(db: Database) -> str:
    with db.session() as session:
        return str(session.scalars(select(Person.id).filter_by(email=EMAIL)).one())


def test_a_confirmed_check_makes_the_identity_in_person(
    staff_app: FastAPI, db: Database, clock: FixedClock
) -> None:
    _registered(staff_app, EMAIL)
    staff = _staff_at_level_3(staff_app, db, clock, "vg-test")
    found = staff.get(f"/staff/vg-test/identity?email={EMAIL}")
    assert found.status_code == 200
    assert "Schmitz-Müller" in found.text and "17.05.1980" in found.text
    person_id = _citizen_id(db)
    answer = staff.post(f"/staff/vg-test/identity/{person_id}", {**CHECK, "email": EMAIL})
    assert answer.status_code == 303
    with db.session() as session:
        person = session.scalars(select(Person).filter_by(email=EMAIL)).one()
        check = session.scalars(select(InPersonCheck)).one()
        event = session.scalars(
            select(AuditEvent).filter_by(action="identity.in_person_confirmed")
        ).one()
    assert person.identity_proofing == "in_person"
    assert check.document_number_last4 == "C4F7", "four characters, upper case, no more"
    assert event.subject_id == person_id
    assert "C4F7" not in json.dumps(event.details), "the audit names the decision, not the number"


def test_a_refused_check_is_recorded_and_changes_nothing(
    staff_app: FastAPI, db: Database, clock: FixedClock
) -> None:
    _registered(staff_app, EMAIL)
    staff = _staff_at_level_3(staff_app, db, clock, "vg-test")
    person_id = _citizen_id(db)
    refusal = {**CHECK, "decision": "refused", "email": EMAIL}
    assert staff.post(f"/staff/vg-test/identity/{person_id}", refusal).status_code == 303
    with db.session() as session:
        person = session.scalars(select(Person).filter_by(email=EMAIL)).one()
        refused = session.scalars(select(AuditEvent.action)).all()
    assert person.identity_proofing == "self_declared"
    assert "identity.in_person_refused" in refused


BAD_CHECKS = [
    ({"last4": "12"}, "last4"),
    ({"last4": "12345"}, "last4"),
    ({"last4": "12-4"}, "last4"),
    ({"document_type": "library_card"}, "document_type"),
    ({"decision": "maybe"}, "decision"),
]


@pytest.mark.parametrize(("change", "field"), BAD_CHECKS)
def test_bad_input_is_shown_with_what_was_typed_and_nothing_is_stored(
    staff_app: FastAPI, db: Database, clock: FixedClock, change: dict[str, str], field: str
) -> None:
    _registered(staff_app, EMAIL)
    staff = _staff_at_level_3(staff_app, db, clock, "vg-test")
    person_id = _citizen_id(db)
    answer = staff.post(f"/staff/vg-test/identity/{person_id}", {**CHECK, **change, "email": EMAIL})
    assert answer.status_code == 422
    assert f'id="field-{field}-error"' in answer.text
    if field != "last4":
        assert 'value="c4f7"' in answer.text, "the typed characters stay in the form"
    with db.session() as session:
        assert session.scalars(select(InPersonCheck)).all() == []


def test_staff_of_another_authority_and_citizens_are_refused(
    staff_app: FastAPI, db: Database, clock: FixedClock
) -> None:
    citizen = _registered(staff_app, EMAIL)
    citizen.login()
    staff = _staff_at_level_3(staff_app, db, clock, "vg-other")
    person_id = _citizen_id(db)
    for browser in (staff, citizen):
        assert browser.get(f"/staff/vg-test/identity?email={EMAIL}").status_code == 403
        posted = browser.post(f"/staff/vg-test/identity/{person_id}", {**CHECK, "email": EMAIL})
        assert posted.status_code == 403
    assert staff.get("/staff/no-such-authority/identity").status_code == 403
    with db.session() as session:
        assert session.scalars(select(InPersonCheck)).all() == []
        denied = session.scalars(select(AuditEvent).filter_by(action="staff.access_denied")).all()
    assert len(denied) == 5, "every refused attempt is audited"


def test_a_password_only_staff_session_is_sent_to_log_in_with_the_second_factor(
    staff_app: FastAPI, db: Database, clock: FixedClock
) -> None:
    _registered(staff_app, EMAIL)
    staff = _registered(staff_app, STAFF_EMAIL)
    _prove(db, STAFF_EMAIL)
    found = AuthorityService(db, clock).by_slug("vg-test")
    assert found is not None
    StaffService(db, clock).add(STAFF_EMAIL, found.id, StaffRole.CITIZENS_OFFICE, "test")
    staff.login(email=STAFF_EMAIL)
    page = staff.get(f"/staff/vg-test/identity?email={EMAIL}")
    assert page.status_code == 403
    assert "zweitem Faktor" in page.text and "Schmitz-Müller" not in page.text
    again = staff.post("/staff/vg-test/step-up", {})
    assert again.headers["location"] == "/login?next=/staff/vg-test/identity"


def test_nobody_checks_their_own_identity(
    staff_app: FastAPI, db: Database, clock: FixedClock
) -> None:
    staff = _staff_at_level_3(staff_app, db, clock, "vg-test")
    own = staff.get(f"/staff/vg-test/identity?email={STAFF_EMAIL}")
    assert "Kein Konto" in own.text
    with db.session() as session:
        staff_id = session.scalars(select(Person.id).filter_by(email=STAFF_EMAIL)).one()
    posted = staff.post(f"/staff/vg-test/identity/{staff_id}", {**CHECK, "email": STAFF_EMAIL})
    assert posted.status_code == 403


def test_staff_add_needs_a_confirmed_account(
    staff_app: FastAPI, db: Database, clock: FixedClock
) -> None:
    found = AuthorityService(db, clock).by_slug("vg-test")
    assert found is not None
    with pytest.raises(NoSuchPersonError):
        StaffService(db, clock).add("nobody@example.org", found.id, StaffRole.CITIZENS_OFFICE, "t")


def test_the_cli_grants_a_role_and_names_a_missing_account(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "demo", "--json").returncode == 0
    granted = run_cli(
        tmp_path,
        "staff",
        "add",
        "--email",
        "erika.mustermann@example.org",
        "--authority",
        "vg-cochem",
        "--role",
        "citizens_office",
        "--json",
    )
    assert granted.returncode == 0, granted.stderr
    assert json.loads(granted.stdout)["created"] is True
    missing = run_cli(
        tmp_path,
        "staff",
        "add",
        "--email",
        "x@example.org",
        "--authority",
        "vg-cochem",
        "--role",
        "citizens_office",
    )
    assert missing.returncode == 2
    assert "--email x@example.org" in missing.stderr and "Traceback" not in missing.stderr
