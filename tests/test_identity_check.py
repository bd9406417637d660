"""The identity check end to end: registry lookup, PIN letter, PIN entry, binding, moves."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from servicekonto.accounts.models import Person
from servicekonto.app import create_app
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.i18n.catalog import Translator
from servicekonto.pinletters.issuing import SEAL_PURPOSE, unseal_pin
from servicekonto.pinletters.models import LetterStatus, PinLetter
from servicekonto.registration.models import CheckState, IdentityCheck
from servicekonto.registry.importer import import_residents
from servicekonto.registry.port import (
    Address,
    LookupResult,
    RegistryQuery,
    RegistryUnavailableError,
    ResidentRecord,
)
from servicekonto.security.encryption import SecretBox
from servicekonto.store.engine import Database
from tests.conftest import TEST_SECRET_KEY
from tests.web_helpers import REGISTRATION, Browser, RecordingMailSender, cheap_settings

GERMAN = Translator("de")
RESIDENT = ResidentRecord(
    resident_id="R900001",
    academic_title="Dr.",
    given_names="Anna Maria Luise",
    family_name="Schmitz-Müller",
    birth_name="Weber",
    birth_date=date(1980, 5, 17),
    birth_place="Koblenz",
    address=Address("Moselstraße", "12a", "56812", "Cochem"),
    municipality="vg-cochem",
)


def _pin(db: Database) -> str:
    with db.session() as session:
        letter = session.scalars(select(PinLetter)).one()
        pin = unseal_pin(letter, SecretBox(TEST_SECRET_KEY, SEAL_PURPOSE))
    assert pin is not None
    return pin


def _letter(db: Database) -> PinLetter:
    with db.session() as session:
        return session.scalars(select(PinLetter).order_by(PinLetter.created_at.desc())).first()  # type: ignore[return-value]


def _check(db: Database) -> IdentityCheck:
    with db.session() as session:
        return session.scalars(select(IdentityCheck)).one()


def _confirmed(browser: Browser, mail: RecordingMailSender, **overrides: str) -> Browser:
    assert browser.register(**overrides).status_code == 303
    confirmed = browser.confirm(mail.last_link())
    assert confirmed.status_code == 200
    assert browser.login().status_code == 303
    return browser


@pytest.fixture
def registry(db: Database) -> Database:
    import_residents(db, [RESIDENT])
    return db


def test_a_match_sends_a_letter_to_the_registry_address(
    registry: Database, browser: Browser, mail: RecordingMailSender
) -> None:
    # Typed without the middle name and with "Str." — the registry still recognises her.
    browser.register(given_names="Anna Maria", street="Moselstr.", house_number="12 A")
    page = browser.confirm(mail.last_link())
    assert "unterwegs" in page.text
    letter = _letter(registry)
    assert letter.status == LetterStatus.QUEUED
    assert (letter.street, letter.house_number) == ("Moselstraße", "12a"), "the registry's address"
    assert letter.recipient == "Dr. Anna Maria Luise Schmitz-Müller"
    assert _check(registry).state == CheckState.MATCHED
    assert "Luise" not in page.text, "nothing the registry holds is shown"


def test_the_right_pin_binds_and_adopts_the_registry_data(
    registry: Database, browser: Browser, mail: RecordingMailSender
) -> None:
    _confirmed(browser, mail, given_names="Anna Maria")
    wrong = browser.post("/account/pin", {"pin": "AAAA BBBB CC"})
    assert wrong.status_code == 422
    assert GERMAN("pin.wrong") in wrong.text
    assert GERMAN("pin.attempts_left", count=4) in wrong.text
    right = browser.post("/account/pin", {"pin": _pin(registry).lower()})
    assert right.headers["location"] == "/account?updated=identity_bound"
    with registry.session() as session:
        person = session.scalars(select(Person)).one()
    assert person.identity_proofing == "registry_letter"
    assert person.given_names == "Anna Maria Luise"
    assert person.birth_place == "Koblenz"
    assert _check(registry).query["given_names"] == "Anna Maria", "what was typed stays the request"
    assert _letter(registry).status == LetterStatus.USED
    assert GERMAN("trust.level.2") in browser.get("/account").text


def test_no_match_and_ambiguous_send_no_letter(
    registry: Database, browser: Browser, mail: RecordingMailSender
) -> None:
    page = browser.confirm_at("/confirm-email", _register(browser, mail, family_name="Schneider"))
    assert GERMAN("identity.no_match") in page.text
    assert _letter(registry) is None


def _register(browser: Browser, mail: RecordingMailSender, **overrides: str) -> str:
    browser.register(**overrides)
    return mail.sent[-1].text


def test_an_ambiguous_answer_binds_no_one(
    db: Database, browser: Browser, mail: RecordingMailSender
) -> None:
    twin = replace(RESIDENT, resident_id="R900002")
    import_residents(db, [RESIDENT, twin])
    browser.register(given_names="Anna Maria")
    browser.confirm(mail.last_link())
    assert _check(db).state == CheckState.AMBIGUOUS
    assert _letter(db) is None


class FlakyRegistry:
    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.down = True

    def lookup(self, query: RegistryQuery) -> LookupResult:
        if self.down:
            raise RegistryUnavailableError("registry down")
        return self.inner.lookup(query)  # type: ignore[attr-defined,no-any-return]

    def resident(self, resident_id: str) -> ResidentRecord | None:
        if self.down:
            raise RegistryUnavailableError("registry down")
        return self.inner.resident(resident_id)  # type: ignore[attr-defined,no-any-return]


def test_a_registry_outage_keeps_the_request_and_checks_again(
    registry: Database,
    web_app: FastAPI,
    browser: Browser,
    mail: RecordingMailSender,
    clock: FixedClock,
) -> None:
    checks = web_app.state.identity.checks
    flaky = FlakyRegistry(checks._registry)
    checks._registry = flaky
    _confirmed(browser, mail, given_names="Anna Maria")
    assert GERMAN("registry.unavailable") in browser.get("/account").text
    assert _check(registry).state == CheckState.PENDING
    flaky.down = False
    assert GERMAN("registry.unavailable") in browser.get("/account").text, (
        "not before the retry time"
    )
    clock.advance(timedelta(minutes=16))
    assert "unterwegs" in browser.get("/account").text
    assert _letter(registry).status == LetterStatus.QUEUED


def test_pin_entry_while_the_registry_is_down_costs_no_attempt(
    registry: Database, web_app: FastAPI, browser: Browser, mail: RecordingMailSender
) -> None:
    _confirmed(browser, mail, given_names="Anna Maria")
    checks = web_app.state.identity.checks
    flaky = FlakyRegistry(checks._registry)
    checks._registry = flaky
    response = browser.post("/account/pin", {"pin": _pin(registry)})
    assert response.status_code == 503
    assert GERMAN("registry.unavailable") in response.text
    assert _letter(registry).attempts == 0


def test_a_moved_person_cannot_bind_with_the_old_letter(
    registry: Database, browser: Browser, mail: RecordingMailSender
) -> None:
    _confirmed(browser, mail, given_names="Anna Maria")
    pin = _pin(registry)
    moved = replace(RESIDENT, address=Address("Am Weinberg", "3", "56856", "Zell (Mosel)"))
    import_residents(registry, [moved])
    response = browser.post("/account/pin", {"pin": pin})
    assert GERMAN("pin.moved") in response.text
    assert _letter(registry).status == LetterStatus.REVOKED
    with registry.session() as session:
        assert session.scalars(select(Person.identity_proofing)).one() == "self_declared"


def test_five_wrong_pins_use_the_letter_up_then_a_new_one_can_be_ordered(
    registry: Database, browser: Browser, mail: RecordingMailSender, clock: FixedClock
) -> None:
    _confirmed(browser, mail, given_names="Anna Maria")
    for _ in range(5):
        clock.advance(timedelta(minutes=1))  # the throttle's growing delay
        browser.post("/account/pin", {"pin": "AAAA BBBB CC"})
    assert _letter(registry).status == LetterStatus.EXPIRED
    assert (
        browser.post("/account/letter", {}).headers["location"] == "/account?updated=letter_ordered"
    )
    assert _letter(registry).status == LetterStatus.QUEUED
    assert browser.post("/account/letter", {}).headers["location"].endswith("letter_refused"), (
        "one open letter at most"
    )


def test_expired_letters_cannot_be_used(
    registry: Database, browser: Browser, mail: RecordingMailSender, clock: FixedClock
) -> None:
    _confirmed(browser, mail, given_names="Anna Maria")
    pin = _pin(registry)
    clock.advance(timedelta(days=30, seconds=1))
    assert browser.login().status_code == 303, "the session ran out long ago"
    response = browser.post("/account/pin", {"pin": pin})
    assert GERMAN("pin.expired") in response.text


@pytest.mark.parametrize("typed", ["", "kurz", "A" * 500, "ABCD-EFGH-I0", "<script>"])
def test_malformed_pins_are_explained(
    registry: Database, browser: Browser, mail: RecordingMailSender, typed: str
) -> None:
    _confirmed(browser, mail, given_names="Anna Maria")
    response = browser.post("/account/pin", {"pin": typed})
    assert response.status_code == 422
    assert GERMAN("pin.invalid") in response.text
    assert _letter(registry).attempts == 0


def test_demo_letterbox_exists_only_in_the_demo(
    settings: Settings, registry: Database, clock: FixedClock, mail: RecordingMailSender
) -> None:
    development = Browser(
        create_app(cheap_settings(settings), database=registry, clock=clock, mail_sender=mail)
    )
    _confirmed(development, mail, given_names="Anna Maria")
    assert development.get("/demo/letterbox").status_code == 404
    demo_settings = cheap_settings(settings, env="demo")
    demo = Browser(create_app(demo_settings, database=registry, clock=clock, mail_sender=mail))
    assert demo.login().status_code == 303
    box = demo.get("/demo/letterbox")
    assert box.status_code == 200
    letter = _letter(registry)
    assert letter.letter_number in box.text
    pdf = demo.get(f"/demo/letterbox/{letter.id}.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert demo.get(f"/demo/letterbox/{uuid.uuid4()}.pdf").status_code == 404


@pytest.mark.postgres
def test_concurrent_wrong_pins_never_lose_an_attempt(
    race_db: Database, settings: Settings, clock: FixedClock
) -> None:
    mail = RecordingMailSender()
    import_residents(race_db, [RESIDENT])
    # The throttle is tested elsewhere; here only the letter's own counter may stop attempts.
    lenient = settings.login.model_copy(update={"free_failures": 50, "lock_after_failures": 100})
    app = create_app(
        cheap_settings(settings, login=lenient), database=race_db, clock=clock, mail_sender=mail
    )
    Browser(app).register(given_names="Anna Maria")
    browser = Browser(app)
    browser.confirm(mail.last_link())
    with race_db.session() as session:
        person_id = session.scalars(select(Person.id)).one()
    checks = app.state.identity.checks
    barrier = threading.Barrier(8)

    def attempt(index: int) -> None:
        barrier.wait(timeout=10)
        checks.enter_pin(person_id, "AAAA BBBB CC", f"10.0.0.{index}")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    letter = _letter(race_db)
    assert letter.attempts == 5, "every attempt counted, none beyond the limit"
    assert letter.status == LetterStatus.EXPIRED


def test_the_pin_api_answers_in_json(
    registry: Database, browser: Browser, mail: RecordingMailSender
) -> None:
    assert browser.client.get("/api/v1/identity").status_code == 401
    _confirmed(browser, mail, given_names="Anna Maria")
    status = browser.client.get("/api/v1/identity").json()
    assert status["state"] == "matched"
    assert status["attempts_left"] == 5
    wrong = browser.client.post("/api/v1/identity/pin", json={"pin": "AAAA BBBB CC"})
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["attempts_left"] == 4
    foreign = browser.client.post(
        "/api/v1/identity/pin",
        json={"pin": _pin(registry)},
        headers={"origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    right = browser.client.post("/api/v1/identity/pin", json={"pin": _pin(registry)})
    assert right.json() == {"status": "bound"}
    assert browser.client.get("/api/v1/identity").json()["state"] == "bound"


def test_pin_guessing_across_accounts_from_one_address_is_stopped(
    settings: Settings, db: Database, clock: FixedClock, mail: RecordingMailSender
) -> None:
    people = [
        replace(RESIDENT, resident_id=f"R90001{index}", given_names=name, family_name="Klein")
        for index, name in enumerate(["Anna", "Berta", "Clara", "Dora"])
    ]
    import_residents(db, people)
    strict = settings.login.model_copy(update={"ip_lock_after_failures": 6})
    app = create_app(
        cheap_settings(settings, login=strict), database=db, clock=clock, mail_sender=mail
    )
    browsers = []
    for person in people:
        browser = Browser(app)
        email = f"{person.given_names.lower()}@example.org"
        browser.register(email=email, given_names=person.given_names, family_name="Klein")
        browser.confirm(mail.last_link())
        assert browser.login(email=email).status_code == 303
        browsers.append(browser)
    # Two guesses per account stay under each account's own delay; the address counts them all.
    answers = [
        browser.post("/account/pin", {"pin": "AAAA BBBB CC"}).status_code
        for _ in range(2)
        for browser in browsers
    ]
    assert answers == [422] * 6 + [429, 429]


def test_at_most_three_letters_a_year(
    settings: Settings, registry: Database, clock: FixedClock, mail: RecordingMailSender
) -> None:
    lenient = settings.login.model_copy(update={"free_failures": 50, "lock_after_failures": 100})
    app = create_app(
        cheap_settings(settings, login=lenient), database=registry, clock=clock, mail_sender=mail
    )
    browser = _confirmed(Browser(app), mail, given_names="Anna Maria")
    ordered = []
    for _ in range(3):
        for _ in range(5):
            browser.post("/account/pin", {"pin": "AAAA BBBB CC"})
        ordered.append(browser.post("/account/letter", {}).headers["location"])
    assert ordered == [
        "/account?updated=letter_ordered",
        "/account?updated=letter_ordered",
        "/account?updated=letter_refused",
    ]
    assert GERMAN("identity.no_more_letters") in browser.get("/account").text


def test_corrected_data_are_checked_again(
    registry: Database, browser: Browser, mail: RecordingMailSender
) -> None:
    _confirmed(browser, mail, given_names="Anna Maria", street="Marktplatz")
    assert _check(registry).state == CheckState.NO_MATCH
    form = browser.get("/account/data")
    assert 'value="Marktplatz"' in form.text
    bad = browser.post("/account/data", {**_data(), "postal_code": "123"})
    assert bad.status_code == 422
    assert _check(registry).state == CheckState.NO_MATCH
    saved = browser.post("/account/data", _data())
    assert saved.headers["location"] == "/account?updated=data"
    assert _check(registry).state == CheckState.MATCHED
    assert _letter(registry).status == LetterStatus.QUEUED


def _data() -> dict[str, str]:
    fields = ("academic_title", "given_names", "family_name", "birth_name", "birth_date")
    data = {key: REGISTRATION[key] for key in fields}
    data.update(birth_place="Cochem", street="Moselstraße", house_number="12a", postal_code="56812")
    return {**data, "city": "Cochem"}


def test_registry_confirmed_data_cannot_be_edited(
    registry: Database, browser: Browser, mail: RecordingMailSender
) -> None:
    _confirmed(browser, mail, given_names="Anna Maria")
    browser.post("/account/pin", {"pin": _pin(registry)})
    assert browser.get("/account/data").headers["location"] == "/account"
    refused = browser.post("/account/data", _data())
    assert refused.status_code == 422
    assert GERMAN("data.verified") in refused.text
