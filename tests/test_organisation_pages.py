"""The organisation pages end to end: the owner applies, the registration office decides."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from servicekonto.accounts.models import Person, StaffRole
from servicekonto.accounts.staff import StaffService
from servicekonto.app import create_app
from servicekonto.audit.models import AuditEvent
from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.organisations.models import Organisation, OrganisationDocument
from servicekonto.safe.demo_documents import demo_pdf
from servicekonto.store.engine import Database
from tests.web_helpers import Browser, RecordingMailSender, cheap_settings

FORM = {
    "kind": "company",
    "name": "Moselwinzer eG",
    "legal_form": "eingetragene Genossenschaft",
    "street": "Moselstraße",
    "house_number": "3",
    "postal_code": "56812",
    "city": "Cochem",
    "register_type": "GnR",
    "register_number": "123",
    "register_court": "Amtsgericht Koblenz",
}


class World:
    def __init__(self, app: FastAPI, db: Database, clock: FixedClock) -> None:
        self.app, self.db, self.clock = app, db, clock
        self.mail: RecordingMailSender = app.state.accounts.notifier._sender

    def person(self, email: str) -> Browser:
        browser = Browser(self.app)
        browser.register(email=email)
        browser.confirm(self.mail.last_link(email))
        assert browser.login(email=email).status_code == 303
        return browser

    def staff(self, email: str, authority: str) -> Browser:
        """A registration office clerk, logged in with password and authenticator (level 3)."""
        browser = self.person(email)
        with self.db.unit_of_work() as uow:
            person = uow.session.scalars(select(Person).filter_by(email=email)).one()
            person.identity_proofing = "registry_letter"
            uow.commit()
        found = AuthorityService(self.db, self.clock).by_slug(authority)
        assert found is not None
        StaffService(self.db, self.clock).add(email, found.id, StaffRole.REGISTRATION_OFFICE, "t")
        seed, _ = browser.enrol_totp(self.clock.now())
        browser.logout()
        self.clock.advance(timedelta(seconds=30))
        browser.login(email=email)
        code = pyotp.TOTP(seed).at(self.clock.now())
        assert (
            browser.post("/login/second-factor", {"method": "totp", "code": code}).status_code
            == 303
        )
        return browser

    def documents(self) -> int:
        with self.db.session() as session:
            return session.scalar(select(func.count()).select_from(OrganisationDocument)) or 0

    def blobs(self, settings: Settings) -> list[Any]:
        return [p for p in (settings.var_dir / "blobs").rglob("*") if p.is_file()]


@pytest.fixture
def world(settings: Settings, db: Database, clock: FixedClock) -> World:
    for slug, kind in (
        ("kreis-cochem-zell", AuthorityKind.DISTRICT),
        ("vg-cochem", AuthorityKind.MUNICIPAL_ASSOCIATION),
        ("vg-zell", AuthorityKind.MUNICIPAL_ASSOCIATION),
    ):
        AuthorityService(db, clock).ensure(
            AuthoritySpec(slug=slug, name=slug.upper(), kind=kind), "t"
        )
    app = create_app(
        cheap_settings(settings), database=db, clock=clock, mail_sender=RecordingMailSender()
    )
    return World(app, db, clock)


def create(owner: Browser, **changes: str) -> str:
    answer = owner.post("/organisations/new", {**FORM, **changes})
    assert answer.status_code == 303, answer.text
    location: str = answer.headers["location"]
    return location


def upload(browser: Browser, organisation: str, content: bytes, name: str = "auszug.pdf") -> Any:
    files = {"document": (name, content, "application/pdf")}
    return browser.client.post(
        f"{organisation}/documents", data={"csrf_token": browser.csrf()}, files=files
    )


def test_apply_ask_for_more_and_verify(world: World, settings: Settings) -> None:
    owner = world.person("inhaber@example.org")
    organisation = create(owner)
    assert (
        upload(
            owner, organisation, demo_pdf("Registerauszug", ["GnR 123"], date(2026, 11, 1))
        ).status_code
        == 303
    )
    assert owner.post(f"{organisation}/submit", {}).status_code == 303
    assert "in Prüfung" in owner.get(organisation).text

    clerk = world.staff("registrierung@vg-cochem.example", "vg-cochem")
    queue = clerk.get("/staff/vg-cochem/organisations")
    assert "Moselwinzer eG" in queue.text
    organisation_id = organisation.rsplit("/", 1)[1]
    case = clerk.get(f"/staff/vg-cochem/organisations/{organisation_id}")
    assert case.status_code == 200
    assert "frame-src 'self'" in case.headers["content-security-policy"]
    with world.db.session() as session:
        document_id = session.scalars(select(OrganisationDocument.id)).one()
    viewed = clerk.get(f"/staff/vg-cochem/organisations/{organisation_id}/documents/{document_id}")
    assert viewed.status_code == 200
    assert viewed.content.startswith(b"%PDF-")
    assert viewed.headers["x-frame-options"] == "SAMEORIGIN"

    missing = clerk.post(
        f"/staff/vg-cochem/organisations/{organisation_id}/decision",
        {"decision": "rejected", "message": ""},
    )
    assert missing.status_code == 422, "a rejection needs a reason; the form is shown again"
    asked = clerk.post(
        f"/staff/vg-cochem/organisations/{organisation_id}/decision",
        {"decision": "needs_info", "message": "Bitte die Satzung nachreichen."},
    )
    assert asked.status_code == 303
    assert world.mail.sent[-1].to == "inhaber@example.org"
    assert "Bitte die Satzung nachreichen." in world.mail.sent[-1].text
    page = owner.get(organisation).text
    assert "Angaben nachreichen" in page and "Bitte die Satzung nachreichen." in page
    upload(owner, organisation, demo_pdf("Satzung", ["§ 1 Name"], date(2026, 11, 1)), "satzung.pdf")
    owner.post(f"{organisation}/submit", {})
    clerk.post(
        f"/staff/vg-cochem/organisations/{organisation_id}/decision",
        {"decision": "verified", "message": ""},
    )
    assert "bestätigt" in owner.get(organisation).text
    assert "Moselwinzer eG</a>: bestätigt" in owner.get("/account").text, (
        "the state on the account page"
    )
    with world.db.session() as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    assert actions.count("organisation.document_viewed") == 1
    assert actions.count("organisation.decided") == 2
    assert len(world.blobs(settings)) == 2


def test_another_authoritys_case_is_not_found_not_forbidden(world: World) -> None:
    owner = world.person("inhaber@example.org")
    organisation = create(owner)
    upload(owner, organisation, demo_pdf("Registerauszug", ["GnR 123"], date(2026, 11, 1)))
    owner.post(f"{organisation}/submit", {})
    organisation_id = organisation.rsplit("/", 1)[1]
    zell = world.staff("registrierung@vg-zell.example", "vg-zell")
    assert "Moselwinzer" not in zell.get("/staff/vg-zell/organisations").text
    assert zell.get(f"/staff/vg-zell/organisations/{organisation_id}").status_code == 404
    decided = zell.post(
        f"/staff/vg-zell/organisations/{organisation_id}/decision", {"decision": "verified"}
    )
    assert decided.status_code == 404
    assert zell.get("/staff/vg-cochem/organisations").status_code == 403, "not their office at all"
    with world.db.session() as session:
        assert session.scalars(select(Organisation.state)).one() == "pending"


def test_bad_form_input_is_shown_with_what_was_typed(world: World) -> None:
    owner = world.person("inhaber@example.org")
    answer = owner.post("/organisations/new", {**FORM, "register_number": "0815-X"})
    assert answer.status_code == 422
    assert 'value="Moselwinzer eG"' in answer.text
    assert 'id="field-register_number-error"' in answer.text


REFUSED = {
    "renamed-executable": b"MZ\x90\x00" + b"\x00" * 500,
    "html": b"<html>Registerauszug</html>",
}


@pytest.mark.parametrize("content", REFUSED.values(), ids=REFUSED.keys())
def test_unacceptable_uploads_are_refused_and_leave_nothing(
    world: World, settings: Settings, content: bytes
) -> None:
    owner = world.person("inhaber@example.org")
    organisation = create(owner)
    answer = upload(owner, organisation, content)
    assert answer.status_code == 422
    assert "PDF-, PNG- oder JPEG-Datei" in answer.text
    assert world.documents() == 0 and world.blobs(settings) == []


# Starlette's multipart parser keeps the unfinished part's spool file out of the form and does
# not close it (the garbage collector does); the warning is about that file, not our storage.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_upload_cut_off_midway_leaves_no_blob_and_no_document(
    world: World, settings: Settings
) -> None:
    owner = world.person("inhaber@example.org")
    organisation = create(owner)
    boundary = "grenze"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{owner.csrf()}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    ).encode() + b"x" * 5000  # no closing boundary: the connection ended mid-file
    answer = owner.client.post(
        f"{organisation}/documents",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status_code in {400, 422}
    assert world.documents() == 0 and world.blobs(settings) == []


def test_a_member_cannot_upload_and_strangers_see_nothing(world: World) -> None:
    owner = world.person("inhaber@example.org")
    organisation = create(owner)
    stranger = world.person("fremd@example.org")
    assert stranger.get(organisation).status_code == 404
    assert (
        upload(stranger, organisation, demo_pdf("x", [], date(2026, 11, 1))).status_code == 404
        or world.documents() == 0
    )


def test_invitation_through_the_pages(world: World) -> None:
    owner = world.person("inhaber@example.org")
    organisation = create(owner)
    invited = owner.post(
        f"{organisation}/invitations", {"email": "kollegin@example.org", "role": "member"}
    )
    assert invited.status_code == 303
    link = world.mail.last_link("kollegin@example.org")
    token = link.split("token=", 1)[1]
    colleague = world.person("kollegin@example.org")
    assert colleague.get(colleague.path_of(link)).status_code == 200
    joined = colleague.post("/organisations/invitations/accept", {"token": token})
    assert joined.headers["location"] == f"{organisation}?updated=joined"
    assert "Mitglied" in colleague.get(organisation).text
    again = colleague.post("/organisations/invitations/accept", {"token": token})
    assert again.status_code == 409
    assert "schon angenommen" in again.text
    wrong = world.person("fremd@example.org")
    second = owner.post(
        f"{organisation}/invitations", {"email": "admin@example.org", "role": "admin"}
    )
    assert second.status_code == 303
    other_token = world.mail.last_link("admin@example.org").split("token=", 1)[1]
    refused = wrong.post("/organisations/invitations/accept", {"token": other_token})
    assert refused.status_code == 409
    assert "andere E-Mail-Adresse" in refused.text
    with world.db.session() as session:
        count = session.scalar(
            select(func.count()).select_from(Person).where(Person.email == "admin@example.org")
        )
    assert count == 0
    assert uuid.UUID(organisation.rsplit("/", 1)[1])


def test_a_clerk_without_the_second_factor_comes_back_to_the_console(world: World) -> None:
    clerk = world.person("registrierung@vg-cochem.example")
    found = AuthorityService(world.db, world.clock).by_slug("vg-cochem")
    assert found is not None
    StaffService(world.db, world.clock).add(
        "registrierung@vg-cochem.example", found.id, StaffRole.REGISTRATION_OFFICE, "t"
    )
    page = clerk.get("/staff/vg-cochem/organisations")
    assert page.status_code == 403
    assert 'name="next" value="/staff/vg-cochem/organisations"' in page.text
    again = clerk.post("/staff/vg-cochem/step-up", {"next": "/staff/vg-cochem/organisations"})
    assert again.headers["location"] == "/login?next=/staff/vg-cochem/organisations"
    clerk.login(email="registrierung@vg-cochem.example")
    elsewhere = clerk.post("/staff/vg-cochem/step-up", {"next": "https://evil.example/"})
    assert elsewhere.headers["location"] == "/login?next=/staff/vg-cochem/identity"
