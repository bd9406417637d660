"""The eID card through the hosted pages, against the mock eID-Server: bind, log in, step up.

Our app talks to the mock over the HTTP adapter (the mock app behind a TestClient); the person's
"eID client" is a second TestClient on the mock's stand-in page. Every refusal leaves the level
where it was.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt as jose_jwt
from sqlalchemy import select
from starlette.testclient import TestClient

from servicekonto.accounts.models import Person
from servicekonto.app import create_app
from servicekonto.audit.models import AuditEvent
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.eid.http_adapter import HttpEidServer
from servicekonto.eid_mock.app import create_eid_mock_app
from servicekonto.keys.service import KeyService
from servicekonto.pinletters.models import PinLetter
from servicekonto.store.engine import Database
from tests.cli_helpers import free_port
from tests.safe_helpers import add_procedure, authorization_request, redeem_code
from tests.web_helpers import Browser, RecordingMailSender, cheap_settings

LENA = {
    "email": "lena.becker@example.org",
    "given_names": "Lena",
    "family_name": "Becker",
    "birth_date": "1988-04-12",
    "birth_place": "Koblenz",
    "street": "Moselstraße",
    "house_number": "14",
    "postal_code": "56812",
    "city": "Cochem",
}
EIDAS_HIGH = "http://eidas.europa.eu/LoA/high"


class World:
    def __init__(self, app: FastAPI, eid_client: TestClient, mail: RecordingMailSender) -> None:
        self.app = app
        self.eid_client = eid_client
        self.mail = mail

    def person(self, **data: str) -> Browser:
        browser = Browser(self.app)
        email = data.get("email", "anna.beispiel@example.org")
        browser.register(**data)
        browser.confirm(self.mail.last_link(email))
        assert browser.login(email=email).status_code == 303
        return browser

    def run_eid(
        self, browser: Browser, purpose: str, card: str, next: str = "/account", **form: str
    ) -> Any:
        """Start at our site, act in the eID client, come back; the answer of our return page."""
        started = browser.post("/eid/start", {"purpose": purpose, "next": next})
        assert started.status_code == 303, started.text
        client = urlsplit(started.headers["location"])
        page = self.eid_client.get(f"{client.path}?{client.query}")
        assert page.status_code == 200
        session = parse_qs(client.query)["session"][0]
        choice = {"session": session, "card": card, "pin": "123456", "action": "identify", **form}
        back = self.eid_client.post("/client", data=choice, follow_redirects=False)
        assert back.status_code == 303, back.text
        return browser.get(browser.path_of(back.headers["location"]))


@pytest.fixture
def world(settings: Settings, db: Database, clock: FixedClock) -> World:
    return eid_world(settings, db, clock)


def eid_world(settings: Settings, db: Database, clock: FixedClock) -> World:
    """Our app with signing keys and the mock eID-Server behind the HTTP adapter."""
    KeyService(settings, db, clock).ensure_keys()
    mail = RecordingMailSender()
    app = create_app(cheap_settings(settings), database=db, clock=clock, mail_sender=mail)
    mock = create_eid_mock_app(clock=clock)
    # Our server reaches the eID-Server over HTTP (the adapter), the person's eID client too.
    app.state.eid_port = HttpEidServer("http://testserver", TestClient(mock), "servicekonto")
    return World(app, TestClient(mock), mail)


def person_row(db: Database, email: str) -> Person:
    with db.session() as session:
        return session.scalars(select(Person).filter_by(email=email)).one()


def audit_actions(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(AuditEvent.action)))


def test_binding_the_card_raises_the_identity_and_the_session_to_high(
    world: World, db: Database
) -> None:
    lena = world.person(**LENA)
    assert person_row(db, LENA["email"]).identity_proofing == "self_declared"
    answer = world.run_eid(lena, "bind", "lena")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/account?updated=eid_bound"
    assert person_row(db, LENA["email"]).identity_proofing == "eid"
    account = lena.get("/account").text
    assert "Hoch" in account or "hoch" in account
    assert "identity.eid_bound" in audit_actions(db)


def test_a_bound_card_alone_logs_in(world: World, db: Database) -> None:
    lena = world.person(**LENA)
    world.run_eid(lena, "bind", "lena")
    stranger_browser = Browser(world.app)
    answer = world.run_eid(stranger_browser, "login", "lena")
    assert answer.status_code == 303 and answer.headers["location"] == "/account"
    assert stranger_browser.get("/account").status_code == 200
    unbound = Browser(world.app)
    refused = world.run_eid(unbound, "login", "jonas")
    assert refused.status_code == 200
    assert "noch mit keinem ServiceKonto verbunden" in refused.text
    assert unbound.get("/account").status_code == 303, "no session for an unknown card"


def test_a_card_of_someone_else_is_not_bound(world: World, db: Database) -> None:
    anna = world.person()  # Anna Maria Schmitz-Müller, not Lena Becker
    answer = world.run_eid(anna, "bind", "lena")
    assert answer.status_code == 409
    assert "stimmen nicht mit Ihrem Konto überein" in answer.text
    assert person_row(db, "anna.beispiel@example.org").identity_proofing == "self_declared"
    assert "identity.eid_refused" in audit_actions(db)


def test_a_card_is_bound_to_one_account_only(world: World, db: Database) -> None:
    first = world.person(**LENA)
    world.run_eid(first, "bind", "lena")
    twin = world.person(**{**LENA, "email": "lena.zwei@example.org"})
    answer = world.run_eid(twin, "bind", "lena")
    assert answer.status_code == 409
    assert "schon mit einem anderen ServiceKonto" in answer.text
    assert person_row(db, "lena.zwei@example.org").identity_proofing == "self_declared"


@pytest.mark.parametrize(
    ("card", "form", "message"),
    [
        ("sophie", {}, "abgelaufen"),
        ("markus", {}, "gesperrt"),
        ("julia", {}, "PIN Ihres Ausweises ist gesperrt"),
        ("lena", {"action": "cancel"}, "abgebrochen"),
    ],
)
def test_card_problems_are_explained_and_change_nothing(
    world: World, db: Database, card: str, form: dict[str, str], message: str
) -> None:
    lena = world.person(**LENA)
    answer = world.run_eid(lena, "bind", card, **form)
    assert answer.status_code == 400
    assert message in answer.text
    assert person_row(db, LENA["email"]).identity_proofing == "self_declared"
    assert "identity.eid_failed" in audit_actions(db)


def test_a_result_for_another_session_or_a_replayed_one_is_refused(
    world: World, db: Database
) -> None:
    lena = world.person(**LENA)
    started = lena.post("/eid/start", {"purpose": "bind", "next": "/account"})
    client = urlsplit(started.headers["location"])
    session = parse_qs(client.query)["session"][0]
    back = world.eid_client.post(
        "/client",
        data={"session": session, "card": "lena", "pin": "123456"},
        follow_redirects=False,
    )
    location = lena.path_of(back.headers["location"])
    # The same return in a browser that did not start the run:
    assert Browser(world.app).get(location).status_code == 400
    # Another eID session id than the one this browser's run opened:
    forged = location.replace(f"session_id={session}", "session_id=someone-elses")
    assert lena.get(forged).status_code == 400
    assert lena.get(location).status_code == 303, "the right browser still gets its result"
    replay = lena.get(location)
    assert replay.status_code == 400, "a return is used once"
    assert audit_actions(db).count("identity.eid_failed") >= 3


def test_an_unreachable_eid_server_is_a_clear_503(world: World, db: Database) -> None:
    world.app.state.eid_port = HttpEidServer(
        f"http://127.0.0.1:{free_port()}", httpx.Client(timeout=1), "servicekonto"
    )
    lena = world.person(**LENA)
    answer = lena.post("/eid/start", {"purpose": "bind", "next": "/account"})
    assert answer.status_code == 503
    assert "antwortet gerade nicht" in answer.text


def test_a_procedure_asking_for_high_gets_it_through_the_card(
    world: World, db: Database, clock: FixedClock
) -> None:
    procedure = add_procedure(db, clock, "vg-test.waffen", "vg-test")
    lena = world.person(**LENA)
    request, verifier = authorization_request(procedure, "openid", acr_values=EIDAS_HIGH)
    step_up = lena.get(request).headers["location"]
    assert step_up.startswith("/interaction/step-up/")
    page = lena.get(step_up).text
    assert "Mit Online-Ausweis bestätigen" in page
    resume = "/oidc/authorize/resume/" + step_up.rsplit("/", 1)[1]
    back = world.run_eid(lena, "bind", "lena", next=resume)
    assert back.headers["location"] == resume
    token = redeem_code(lena, procedure, lena.get(resume).headers["location"], verifier)
    jwks = lena.get("/oidc/jwks").json()
    claims = jose_jwt.decode(
        token["id_token"],
        jwks,
        audience=procedure.client_id,
        options={"verify_at_hash": False, "verify_exp": False, "verify_iat": False},
    )
    assert claims["acr"] == EIDAS_HIGH
    assert "eid" in claims["amr"] and "pwd" in claims["amr"]


def register_with_card(world: World, card: str, email: str, password: str) -> tuple[Browser, Any]:
    browser = Browser(world.app)
    back = world.run_eid(browser, "register", card, next="/register/eid")
    assert back.status_code == 303 and back.headers["location"] == "/register/eid", back.text
    form = browser.get("/register/eid")
    assert form.status_code == 200
    sent = browser.post(
        "/register/eid", {"email": email, "password": password, "password_confirm": password}
    )
    return browser, sent


def test_registering_with_the_card_skips_the_letter(world: World, db: Database) -> None:
    browser, sent = register_with_card(world, "jonas", "jonas@example.org", "Weinlese im Oktober")
    assert sent.headers["location"] == "/register/sent"
    person = person_row(db, "jonas@example.org")
    assert (person.given_names, person.family_name, str(person.birth_date)) == (
        "Jonas",
        "Hoffmann",
        "1975-09-30",
    )
    assert (person.street, person.postal_code, person.city) == ("Bahnhofstraße", "56859", "Bullay")
    assert person.identity_proofing == "eid"
    browser.confirm(world.mail.last_link("jonas@example.org"))
    with db.session() as session:
        assert session.scalars(select(PinLetter)).all() == [], "no letter for a proven identity"
    again = Browser(world.app)
    assert world.run_eid(again, "login", "jonas").headers["location"] == "/account"


def test_registering_with_the_card_keeps_typed_values_and_binds_nothing_twice(
    world: World, db: Database
) -> None:
    browser = Browser(world.app)
    world.run_eid(browser, "register", "jonas", next="/register/eid")
    weak = browser.post(
        "/register/eid",
        {"email": "jonas@example.org", "password": "kurz", "password_confirm": "kurz"},
    )
    assert weak.status_code == 422
    assert 'value="jonas@example.org"' in weak.text
    assert "Hoffmann" in weak.text, "the card's data are still shown"
    register_with_card(world, "kai", "kai@example.org", "Weinlese im Oktober")
    second = world.run_eid(Browser(world.app), "register", "kai", next="/register/eid")
    assert second.status_code == 409
    assert "schon ein ServiceKonto" in second.text


def test_a_taken_address_does_not_get_the_card(world: World, db: Database) -> None:
    world.person(**LENA)
    _, sent = register_with_card(world, "lena", LENA["email"], "Weinlese im Oktober")
    assert sent.headers["location"] == "/register/sent", "the page tells nothing about the address"
    assert person_row(db, LENA["email"]).identity_proofing == "self_declared"
    assert "bereits" in world.mail.sent[-1].text or world.mail.sent[-1].to == LENA["email"]
    assert Browser(world.app).get("/register/eid").headers["location"] == "/register"
