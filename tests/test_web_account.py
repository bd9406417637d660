"""Password reset and change, e-mail change, second-factor management, headers and languages."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from servicekonto.accounts.models import Person
from servicekonto.app import create_app
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.i18n.catalog import Translator
from servicekonto.store.engine import Database
from tests.web_helpers import EMAIL, PASSWORD, Browser, RecordingMailSender, cheap_settings

GERMAN, ENGLISH = Translator("de"), Translator("en")
NEW_PASSWORD = "Weinberge im Nebel"


def _email(db: Database) -> str:
    with db.session() as session:
        return session.scalars(select(Person.email)).one()


def test_reset_request_answers_alike_and_mails_only_real_accounts(
    citizen: Browser, mail: RecordingMailSender
) -> None:
    before = len(mail.sent)
    unknown = citizen.post("/password/forgot", {"email": "nobody@example.org"})
    known = citizen.post("/password/forgot", {"email": EMAIL})
    assert unknown.status_code == known.status_code == 200
    assert unknown.text == known.text
    assert len(mail.sent) == before + 1
    assert "/password/reset?token=sk_pr_" in mail.sent[-1].text


def test_reset_sets_the_password_ends_sessions_and_is_single_use(
    citizen: Browser, mail: RecordingMailSender, web_app: FastAPI
) -> None:
    other = Browser(web_app)
    other.login()
    citizen.post("/password/forgot", {"email": EMAIL})
    link = mail.last_link()
    token = link.split("token=")[1]
    assert citizen.get(citizen.path_of(link)).status_code == 200
    weak = citizen.post(
        "/password/reset",
        {"token": token, "password": "1234567890", "password_confirm": "1234567890"},
    )
    assert weak.status_code == 422
    assert GERMAN("password.common") in weak.text or GERMAN("password.repetitive") in weak.text
    done = citizen.post(
        "/password/reset",
        {"token": token, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert done.status_code == 200
    assert other.get("/account").status_code == 303, "every session ends"
    assert "Passwort" in mail.sent[-1].subject
    assert (
        citizen.post(
            "/password/reset",
            {"token": token, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        ).status_code
        == 410
    )
    assert citizen.login(password=PASSWORD).status_code == 422
    assert citizen.login(password=NEW_PASSWORD).status_code == 303


def test_expired_reset_link_is_refused(
    citizen: Browser, mail: RecordingMailSender, clock: FixedClock
) -> None:
    citizen.post("/password/forgot", {"email": EMAIL})
    clock.advance(timedelta(minutes=61))
    assert citizen.get(citizen.path_of(mail.last_link())).status_code == 410


def test_change_password_needs_the_current_one_and_keeps_this_session(
    citizen: Browser, web_app: FastAPI
) -> None:
    other = Browser(web_app)
    other.login()
    wrong = citizen.post(
        "/account/password",
        {
            "current_password": "falsch falsch",
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 422
    assert GERMAN("password.wrong") in wrong.text
    ok = citizen.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
    )
    assert ok.headers["location"] == "/account?updated=password"
    assert citizen.get("/account").status_code == 200
    assert other.get("/account").status_code == 303


def test_personal_data_in_the_new_password_is_refused(citizen: Browser) -> None:
    response = citizen.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "Schmitz-Müller",
            "new_password_confirm": "Schmitz-Müller",
        },
    )
    assert response.status_code == 422
    assert GERMAN("password.contains_personal_data") in response.text


def test_email_change_is_confirmed_at_the_new_address(
    citizen: Browser, mail: RecordingMailSender, db: Database
) -> None:
    response = citizen.post(
        "/account/email", {"new_email": "anna@neu.example.org", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert mail.sent[-1].to == "anna@neu.example.org"
    assert _email(db) == EMAIL, "nothing changes before the confirmation"
    assert citizen.confirm_at("/account/email/confirm", mail.last_link()).status_code == 200
    assert _email(db) == "anna@neu.example.org"
    assert mail.sent[-1].to == EMAIL, "the old address is told"
    assert citizen.get("/account").status_code == 303, "sessions end with the old login name"
    assert citizen.confirm_at("/account/email/confirm", mail.sent[-2].text).status_code == 410
    assert citizen.login(email="anna@neu.example.org").status_code == 303
    assert citizen.get("/account").status_code == 200


@pytest.mark.parametrize(
    ("form", "field", "message_id"),
    [
        ({"new_email": "kaputt", "password": PASSWORD}, "new_email", "email.invalid"),
        ({"new_email": EMAIL, "password": PASSWORD}, "new_email", "email.unchanged"),
        ({"new_email": "x@example.org", "password": "falsch falsch"}, "password", "password.wrong"),
    ],
)
def test_email_change_errors(
    citizen: Browser, form: dict[str, str], field: str, message_id: str
) -> None:
    response = citizen.post("/account/email", form)
    assert response.status_code == 422
    assert GERMAN(message_id) in response.text
    assert f'href="#field-{field}"' in response.text


def test_removing_the_app_needs_a_second_factor_session_and_the_password(
    citizen: Browser, clock: FixedClock
) -> None:
    seed, _ = citizen.enrol_totp(clock.now())
    password_only = citizen.post("/account/totp/remove", {"password": PASSWORD})
    assert password_only.status_code == 403, "a stolen password alone cannot strip the factor"
    assert GERMAN("reauth.title") in password_only.text
    again = citizen.post("/account/reauthenticate", {})
    assert again.headers["location"] == "/login?next=/account"
    clock.advance(timedelta(seconds=30))
    citizen.login()
    code = pyotp.TOTP(seed).at(clock.now())
    assert citizen.post("/login/second-factor", {"method": "totp", "code": code}).status_code == 303
    refused = citizen.post("/account/totp/remove", {"password": "falsch falsch"})
    assert refused.status_code == 403
    assert GERMAN("totp.active") in citizen.get("/account").text
    removed = citizen.post("/account/totp/remove", {"password": PASSWORD})
    assert removed.status_code == 303
    assert GERMAN("totp.inactive") in citizen.get("/account").text


def test_new_recovery_codes_replace_the_old(citizen: Browser, clock: FixedClock) -> None:
    _, old = citizen.enrol_totp(clock.now())
    response = citizen.post("/account/recovery-codes", {"password": PASSWORD})
    new = re.findall(r"<code>([A-Z2-9-]+)</code>", response.text)
    assert len(new) == 10
    assert not set(new) & set(old)


def test_account_pages_need_a_signed_in_session(browser: Browser) -> None:
    for path in ["/account", "/account/password", "/account/email", "/account/totp"]:
        response = browser.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"
    assert browser.post("/account/passkeys/options", {}).status_code == 403


def test_passkey_calls_need_the_csrf_header(citizen: Browser) -> None:
    no_header = citizen.client.post("/account/passkeys/options")
    assert no_header.status_code == 403
    token = citizen.csrf()
    options = citizen.client.post("/account/passkeys/options", headers={"x-csrf-token": token})
    assert options.status_code == 200
    assert options.json()["rp"]["id"] == "127.0.0.1"
    garbage = citizen.client.post(
        "/account/passkeys", content=b"{not json", headers={"x-csrf-token": token}
    )
    assert garbage.status_code == 400
    assert garbage.json()["error"].startswith("passkey.")


def test_security_headers_on_pages(browser: Browser) -> None:
    response = browser.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in response.headers, "no HSTS over http"
    assert "<script>" not in response.text, "no inline script"


def test_https_issuer_adds_hsts_and_secure_cookies(
    settings: Settings, db: Database, clock: FixedClock, mail: RecordingMailSender
) -> None:
    secure = cheap_settings(settings, issuer="https://konto.example.de")
    browser = Browser(create_app(secure, database=db, clock=clock, mail_sender=mail))
    response = browser.get("/login")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "Secure" in response.headers["set-cookie"]


def test_language_from_accept_language_then_the_switch(browser: Browser) -> None:
    english = browser.get("/login", headers={"accept-language": "en-GB,en;q=0.9,de;q=0.5"})
    assert '<html lang="en">' in english.text
    assert ENGLISH("login.title") in english.text
    assert browser.get("/login").text.count('<html lang="de">') == 1
    switched = browser.get("/language/en", params={"next": "/register"})
    assert switched.headers["location"] == "/register"
    assert '<html lang="en">' in browser.get("/register", headers={"accept-language": "de"}).text
    assert browser.get("/language/xx", params={"next": "//evil.example"}).headers["location"] == "/"


def test_browsers_get_an_error_page_and_programs_problem_details(browser: Browser) -> None:
    page = browser.get("/no-such-page", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert GERMAN("error.not_found_title") in page.text
    problem = browser.get("/no-such-page", headers={"accept": "application/json"})
    assert problem.headers["content-type"] == "application/problem+json"


def test_static_files_are_served(browser: Browser) -> None:
    css = browser.get("/static/site.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]
    assert browser.get("/static/passkeys.js").status_code == 200
    assert browser.get("/static/../config/settings.py").status_code == 404
