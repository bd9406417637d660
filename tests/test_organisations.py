"""Organisations: registration, the verification case, members, and acting for one in OIDC."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from jose import jwt as jose_jwt
from sqlalchemy import select

from servicekonto.accounts.models import Person, StaffRole
from servicekonto.accounts.staff import StaffService
from servicekonto.app import create_app
from servicekonto.audit.models import AuditEvent
from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.keys.service import KeyService
from servicekonto.organisations.models import OrganisationDocument, VerificationState
from servicekonto.organisations.schemas import validate_organisation
from servicekonto.organisations.service import OrganisationError
from servicekonto.organisations.verification import Decision, StaffMember
from servicekonto.store.engine import Database
from tests.safe_helpers import Procedure, add_procedure, authorization_request, redeem_code
from tests.web_helpers import Browser, RecordingMailSender, cheap_settings

WINERY = {
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


def organisation_data(**changes: str) -> Any:
    data, errors = validate_organisation({**WINERY, **changes})
    assert data is not None, errors
    return data


BAD_ORGANISATIONS = [
    ({"kind": "cartel"}, "kind"),
    ({"register_type": "XYZ"}, "register_type"),
    ({"register_number": "0123"}, "register_number"),
    ({"register_number": "12-3"}, "register_number"),
    ({"register_court": "1"}, "register_court"),
    ({"register_type": "", "register_number": "", "register_court": ""}, "register_type"),
    ({"kind": "association", "register_type": "HRB"}, "register_type"),
    ({"postal_code": "5681"}, "postal_code"),
    ({"tax_number": "abc"}, "tax_number"),
    ({"name": ""}, "name"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_ORGANISATIONS)
def test_bad_organisation_data_name_the_field(changes: dict[str, str], field: str) -> None:
    data, errors = validate_organisation({**WINERY, **changes})
    assert data is None
    assert field in errors


def test_good_organisation_data() -> None:
    assert organisation_data().register_number == "123"
    sole = organisation_data(
        kind="sole_trader", register_type="", register_number="", register_court=""
    )
    assert sole.register_type is None
    assert (
        organisation_data(register_type="HRB", register_number="12345 b").register_number
        == "12345 B"
    )


# --- the services over a real database -------------------------------------------------------


class World:
    def __init__(self, app: FastAPI, db: Database, clock: FixedClock) -> None:
        self.app, self.db, self.clock = app, db, clock
        self.mail: RecordingMailSender = app.state.accounts.notifier._sender

    def person(self, email: str) -> tuple[Browser, uuid.UUID]:
        browser = Browser(self.app)
        browser.register(email=email)
        browser.confirm(self.mail.last_link(email))
        assert browser.login(email=email).status_code == 303
        with self.db.session() as session:
            person_id = session.scalars(select(Person.id).filter_by(email=email)).one()
        return browser, person_id

    def authority(self, slug: str) -> uuid.UUID:
        found = AuthorityService(self.db, self.clock).by_slug(slug)
        assert found is not None
        return found.id

    def organisation(self, owner: uuid.UUID, **changes: str) -> uuid.UUID:
        organisation_id: uuid.UUID = self.app.state.organisations.create(
            owner, organisation_data(**changes)
        )
        return organisation_id

    def submitted(self, owner: uuid.UUID, **changes: str) -> uuid.UUID:
        organisation_id = self.organisation(owner, **changes)
        document = OrganisationDocument(
            id=uuid.uuid4(),
            blob_id=uuid.uuid4().hex,
            filename="registerauszug.pdf",
            content_type="application/pdf",
            size=1000,
            sha256="0" * 64,
        )
        self.app.state.organisations.add_document(owner, organisation_id, document)
        self.app.state.organisations.submit(owner, organisation_id)
        return organisation_id


@pytest.fixture
def world(settings: Settings, db: Database, clock: FixedClock) -> World:
    for slug, kind in (
        ("kreis-cochem-zell", AuthorityKind.DISTRICT),
        ("vg-cochem", AuthorityKind.MUNICIPAL_ASSOCIATION),
        ("vg-zell", AuthorityKind.MUNICIPAL_ASSOCIATION),
    ):
        AuthorityService(db, clock).ensure(AuthoritySpec(slug=slug, name=slug, kind=kind), "t")
    KeyService(settings, db, clock).ensure_keys()
    app = create_app(
        cheap_settings(settings), database=db, clock=clock, mail_sender=RecordingMailSender()
    )
    return World(app, db, clock)


def test_the_case_goes_to_the_office_of_the_seat_and_is_decided_there(world: World) -> None:
    _, owner = world.person("inhaber@example.org")
    organisation_id = world.submitted(owner)
    cochem = StaffMember(uuid.uuid4(), world.authority("vg-cochem"))
    zell = StaffMember(uuid.uuid4(), world.authority("vg-zell"))
    office = world.app.state.registration_office
    assert [e.organisation.id for e in office.queue(cochem)] == [organisation_id]
    assert office.queue(zell) == []
    # Another authority's case does not exist for them: not found, not forbidden.
    assert office.case(zell, organisation_id) is None
    with pytest.raises(OrganisationError, match=r"organisation\.not_found"):
        office.decide(zell, organisation_id, Decision.VERIFIED, "")
    assert (
        office.decide(cochem, organisation_id, Decision.VERIFIED, "") == VerificationState.VERIFIED
    )
    assert world.mail.sent[-1].to == "inhaber@example.org"
    assert "bestätigt" in world.mail.sent[-1].subject


def test_a_seat_outside_the_known_table_goes_to_the_district(world: World) -> None:
    _, owner = world.person("inhaber@example.org")
    organisation_id = world.organisation(owner, postal_code="10115", city="Berlin")
    case = world.app.state.organisations.case_file(owner, organisation_id)
    assert case.organisation.authority_id == world.authority("kreis-cochem-zell")


def test_needs_info_lets_the_owner_add_and_submit_again_and_rejection_needs_a_reason(
    world: World,
) -> None:
    _, owner = world.person("inhaber@example.org")
    organisation_id = world.submitted(owner)
    staff = StaffMember(uuid.uuid4(), world.authority("vg-cochem"))
    office = world.app.state.registration_office
    with pytest.raises(OrganisationError, match=r"verification\.message_required"):
        office.decide(staff, organisation_id, Decision.NEEDS_INFO, "  ")
    office.decide(staff, organisation_id, Decision.NEEDS_INFO, "Bitte Satzung hochladen.")
    assert "Bitte Satzung hochladen." in world.mail.sent[-1].text
    world.app.state.organisations.submit(owner, organisation_id)
    with pytest.raises(OrganisationError, match=r"verification\.message_required"):
        office.decide(staff, organisation_id, Decision.REJECTED, "")
    assert office.decide(staff, organisation_id, Decision.REJECTED, "Kein Registereintrag.") == (
        VerificationState.REJECTED
    )
    with pytest.raises(OrganisationError, match=r"organisation\.not_editable"):
        world.app.state.organisations.submit(owner, organisation_id)


def test_four_eyes_need_a_second_staff_member(
    settings: Settings, db: Database, clock: FixedClock, world: World
) -> None:
    app = create_app(
        cheap_settings(
            settings, organisations=settings.organisations.model_copy(update={"four_eyes": True})
        ),
        database=db,
        clock=clock,
        mail_sender=RecordingMailSender(),
    )
    _, owner = world.person("inhaber@example.org")
    organisation_id = world.submitted(owner)
    first = StaffMember(uuid.uuid4(), world.authority("vg-cochem"))
    second = StaffMember(uuid.uuid4(), world.authority("vg-cochem"))
    office = app.state.registration_office
    assert office.decide(first, organisation_id, Decision.VERIFIED, "") == VerificationState.PENDING
    with pytest.raises(OrganisationError, match=r"four_eyes_same_person"):
        office.decide(first, organisation_id, Decision.VERIFIED, "")
    assert (
        office.decide(second, organisation_id, Decision.VERIFIED, "") == VerificationState.VERIFIED
    )


def test_an_invitation_is_for_one_person_and_used_once(world: World) -> None:
    _, owner = world.person("inhaber@example.org")
    organisation_id = world.organisation(owner)
    members = world.app.state.members
    invitation = members.invite(owner, organisation_id, "kollegin@example.org", "member")
    _, stranger = world.person("fremd@example.org")
    with pytest.raises(OrganisationError, match=r"invitation_other_person"):
        members.accept(invitation.token, stranger)
    _, colleague = world.person("kollegin@example.org")
    assert members.accept(invitation.token, colleague) == organisation_id
    with pytest.raises(OrganisationError, match=r"invitation_used"):
        members.accept(invitation.token, colleague)
    with pytest.raises(OrganisationError, match=r"not_allowed"):
        members.invite(colleague, organisation_id, "noch@example.org", "admin")
    with pytest.raises(OrganisationError, match=r"last_owner"):
        members.remove(owner, organisation_id, owner)
    world.clock.advance(timedelta(days=8))
    late = members.invite(owner, organisation_id, "spaet@example.org", "member")
    world.clock.advance(timedelta(days=8))
    _, late_person = world.person("spaet@example.org")
    with pytest.raises(OrganisationError, match=r"invitation_invalid"):
        members.accept(late.token, late_person)


# --- acting for an organisation at a procedure ------------------------------------------------


def authorize(browser: Browser, procedure: Procedure, scope: str) -> tuple[str, str]:
    """Where the request sends the browser, and the PKCE verifier to redeem its code with."""
    request, verifier = authorization_request(procedure, scope)
    return browser.get(request).headers["location"], verifier


def claims_of(browser: Browser, procedure: Procedure, id_token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jose_jwt.decode(
        id_token,
        browser.get("/oidc/jwks").json(),
        audience=procedure.client_id,
        options={"verify_at_hash": False, "verify_exp": False, "verify_iat": False},
    )
    return claims


def choose(browser: Browser, waiting: str, choice: str) -> str:
    assert waiting.startswith("/interaction/organisation/")
    page = browser.get(waiting)
    assert "Für wen handeln Sie?" in page.text
    answer = browser.post(waiting, {"acting_for": choice})
    assert answer.status_code == 303
    location: str = browser.get(answer.headers["location"]).headers["location"]
    return location


def test_acting_for_an_organisation_puts_it_in_the_tokens(world: World) -> None:
    procedure = add_procedure(
        world.db,
        world.clock,
        "vg-cochem.gewerbe",
        "vg-cochem",
        scopes=["openid", "profile", "organisation"],
        grant_types=["authorization_code", "refresh_token"],
    )
    browser, owner = world.person("inhaber@example.org")
    organisation_id = world.organisation(owner)
    waiting, verifier = authorize(browser, procedure, "openid profile organisation")
    token = redeem_code(
        browser, procedure, choose(browser, waiting, str(organisation_id)), verifier
    )
    claim = claims_of(browser, procedure, token["id_token"])["organisation"]
    assert claim == {
        "id": str(organisation_id),
        "name": "Moselwinzer eG",
        "legal_form": "eingetragene Genossenschaft",
        "register_court": "Amtsgericht Koblenz",
        "register_number": "GnR 123",
        "verification_state": "unverified",
        "role": "owner",
    }
    info = browser.client.get(
        "/oidc/userinfo", headers={"authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert info["organisation"]["id"] == str(organisation_id)
    assert info["family_name"] == "Schmitz-Müller", "the person's own claims are still there"

    waiting, verifier = authorize(browser, procedure, "openid organisation")
    myself = redeem_code(browser, procedure, choose(browser, waiting, "self"), verifier)
    assert "organisation" not in claims_of(browser, procedure, myself["id_token"])


def test_a_removed_member_gets_no_more_tokens_for_the_organisation(world: World) -> None:
    procedure = add_procedure(
        world.db,
        world.clock,
        "vg-cochem.gewerbe",
        "vg-cochem",
        scopes=["openid", "organisation"],
        grant_types=["authorization_code", "refresh_token"],
    )
    _, owner = world.person("inhaber@example.org")
    organisation_id = world.organisation(owner)
    invitation = world.app.state.members.invite(
        owner, organisation_id, "kollegin@example.org", "member"
    )
    colleague_browser, colleague = world.person("kollegin@example.org")
    world.app.state.members.accept(invitation.token, colleague)
    waiting, verifier = authorize(colleague_browser, procedure, "openid organisation")
    chosen = choose(colleague_browser, waiting, str(organisation_id))
    token = redeem_code(colleague_browser, procedure, chosen, verifier)
    world.app.state.members.remove(owner, organisation_id, colleague)
    refreshed = colleague_browser.client.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(procedure.client_id, procedure.secret),
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    info = colleague_browser.client.get(
        "/oidc/userinfo", headers={"authorization": f"Bearer {token['access_token']}"}
    ).json()
    assert "organisation" not in info, "removal takes effect at once for what is looked up"


def test_a_procedure_requiring_a_verified_organisation_refuses_an_unverified_one(
    world: World,
) -> None:
    procedure = add_procedure(
        world.db,
        world.clock,
        "vg-cochem.vergabe",
        "vg-cochem",
        scopes=["openid", "organisation"],
        require_verified_organisation=True,
    )
    browser, owner = world.person("inhaber@example.org")
    organisation_id = world.organisation(owner)
    waiting, _ = authorize(browser, procedure, "openid organisation")
    page = browser.get(waiting).text
    assert "bestätigte Organisation" in page and "disabled" in page
    answer = browser.post(waiting, {"acting_for": str(organisation_id)})
    callback = browser.get(answer.headers["location"]).headers["location"]
    assert parse_qs(urlsplit(callback).query)["error"] == ["access_denied"]
    with world.db.session() as session:
        assert session.scalars(select(AuditEvent).filter_by(action="organisation.created")).all()


def test_someone_elses_organisation_cannot_be_chosen(world: World) -> None:
    procedure = add_procedure(
        world.db, world.clock, "vg-cochem.gewerbe", "vg-cochem", scopes=["openid", "organisation"]
    )
    _, owner = world.person("inhaber@example.org")
    organisation_id = world.organisation(owner)
    browser, _ = world.person("fremd@example.org")
    waiting, _ = authorize(browser, procedure, "openid organisation")
    answer = browser.post(waiting, {"acting_for": str(organisation_id)})
    assert answer.status_code == 200, "shown again: not one of theirs"
    assert StaffRole.REGISTRATION_OFFICE  # the role the console of these cases needs
    assert StaffService
