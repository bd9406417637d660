"""Registering and confirming the e-mail address through the pages, including every bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from servicekonto.audit.repository import AuditRepository
from servicekonto.clock import FixedClock
from servicekonto.i18n.catalog import Translator
from servicekonto.store.engine import Database
from tests.web_helpers import EMAIL, REGISTRATION, Browser, RecordingMailSender, people

GERMAN = Translator("de")


def test_registration_stores_an_unconfirmed_person_and_mails_a_link(
    browser: Browser, mail: RecordingMailSender, db: Database
) -> None:
    response = browser.register(email="  Anna.Beispiel@EXAMPLE.org ")
    assert response.status_code == 303
    assert response.headers["location"] == "/register/sent"
    assert people(db) == 1
    (sent,) = mail.sent
    assert sent.to == EMAIL
    assert "/confirm-email?token=sk_ec_" in sent.text
    with db.session() as session:
        assert AuditRepository(session).by_action("account.registered")


def test_confirmation_link_opens_a_button_page_then_confirms_once(
    browser: Browser, mail: RecordingMailSender
) -> None:
    browser.register()
    link = mail.last_link()
    # Opening the link (as a mail scanner would) does not use it up.
    assert browser.get(browser.path_of(link)).status_code == 200
    assert browser.get(browser.path_of(link)).status_code == 200
    confirmed = browser.confirm(link)
    assert confirmed.status_code == 200
    assert GERMAN("email_confirmed.title") in confirmed.text
    again = browser.confirm(link)
    assert again.status_code == 410
    assert GERMAN("link_invalid.title") in again.text
    assert browser.get(browser.path_of(link)).status_code == 410


def test_expired_confirmation_link_is_refused(
    browser: Browser, mail: RecordingMailSender, clock: FixedClock
) -> None:
    browser.register()
    clock.advance(timedelta(hours=48, seconds=1))
    assert browser.confirm(mail.last_link()).status_code == 410


@pytest.mark.parametrize("token", ["", "sk_ec_forged", "sk_pr_" + "a" * 43, "x" * 5000])
def test_forged_confirmation_tokens_are_refused(browser: Browser, token: str) -> None:
    assert browser.get("/confirm-email", params={"token": token}).status_code == 410
    assert browser.post("/confirm-email", {"token": token}).status_code == 410


def test_registering_a_taken_address_looks_the_same_and_warns_the_owner(
    browser: Browser, mail: RecordingMailSender, db: Database
) -> None:
    first = browser.register()
    second = browser.register(given_names="Someone", family_name="Else")
    assert (first.status_code, first.headers["location"]) == (
        second.status_code,
        second.headers["location"],
    )
    assert people(db) == 1
    assert [m.to for m in mail.sent] == [EMAIL, EMAIL]
    assert "/login" in mail.sent[1].text
    assert "token=" not in mail.sent[1].text


BAD_INPUT = [
    ("given_names", "A" * 101, "field.too_long"),
    ("family_name", "<script>alert(1)</script>", "name.invalid_characters"),
    ("given_names", "Anna\x00Maria", "field.invalid_characters"),
    ("city", "Co\u202echem", "field.invalid_characters"),
    ("birth_date", "2099-01-01", "birth_date.in_future"),
    ("birth_date", "31.02.1980", "birth_date.invalid"),
    ("birth_date", "1850-01-01", "birth_date.too_early"),
    ("postal_code", "5681", "postal_code.invalid"),
    ("house_number", "12; DROP TABLE", "house_number.invalid"),
    ("street", "", "field.required"),
    ("email", "not-an-address", "email.invalid"),
    ("email", "a" * 250 + "@example.org", "field.too_long"),
    ("academic_title", "Dr. h.c. mult.", "academic_title.invalid"),
    ("password", "kurz", "password.too_short"),
    ("password", "passwort123", "password.common"),
    ("password_confirm", "Moselwein im Winter", "password.mismatch"),
]


@pytest.mark.parametrize(("field", "value", "message_id"), BAD_INPUT)
def test_bad_input_is_explained_kept_and_nothing_stored(
    browser: Browser,
    db: Database,
    mail: RecordingMailSender,
    field: str,
    value: str,
    message_id: str,
) -> None:
    response = browser.register(**{field: value})
    assert response.status_code == 422
    assert GERMAN(message_id) in response.text
    assert 'class="error-summary"' in response.text
    error_field = "password" if field == "password" else field
    assert f'href="#field-{error_field}"' in response.text
    assert 'value="Anna Maria"' in response.text or field == "given_names"
    assert REGISTRATION["password"] not in response.text, "passwords are never echoed"
    assert "<script>alert" not in response.text
    assert people(db) == 0
    assert mail.sent == []


def test_invalid_utf8_is_explained_not_crashed(browser: Browser, db: Database) -> None:
    body = "&".join(f"{k}={v}" for k, v in {**REGISTRATION, "csrf_token": browser.csrf()}.items())
    body = body.replace("given_names=Anna Maria", "given_names=Anna%FF%FEMaria")
    response = browser.client.post(
        "/register",
        content=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert GERMAN("field.invalid_encoding") in response.text
    assert people(db) == 0


@pytest.mark.parametrize(
    ("csrf", "origin"),
    [(None, None), ("wrong-token", None), ("valid", "https://evil.example")],
    ids=["missing", "wrong", "foreign-origin"],
)
def test_register_without_a_valid_csrf_token_is_refused_and_keeps_input(
    browser: Browser, db: Database, csrf: str | None, origin: str | None
) -> None:
    data = dict(REGISTRATION)
    if csrf is not None:
        data["csrf_token"] = browser.csrf() if csrf == "valid" else csrf
    headers = {"origin": origin} if origin else {}
    response = browser.post("/register", data, with_csrf=False, headers=headers)
    assert response.status_code == 403
    assert GERMAN("form.expired") in response.text
    assert 'value="Schmitz-Müller"' in response.text
    assert people(db) == 0


def test_script_in_a_name_is_escaped_wherever_it_is_echoed(browser: Browser) -> None:
    response = browser.register(given_names='"><img src=x onerror=alert(1)>')
    assert response.status_code == 422
    assert "<img src=x" not in response.text
    assert "&#34;&gt;&lt;img" in response.text
