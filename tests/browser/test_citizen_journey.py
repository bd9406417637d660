"""A citizen's first visit in a real browser: register, confirm the e-mail address, log in, set
up the authenticator app, and log in again with the second factor — with axe-core and our own
structure checks on every page on the way.
"""

from __future__ import annotations

import email.policy
import re
import secrets
import time
from email.parser import BytesParser

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Audit, LiveServer

pytestmark = pytest.mark.slow

PASSWORD = "Moselwein im Herbst 2026"
GIVEN_NAMES = "Jürgen"
FAMILY_NAME = "Weißmüller"
FULL_NAME = f"{GIVEN_NAMES} {FAMILY_NAME}"
TOTP_STEP = 30


def _fresh_email() -> str:
    return f"juergen.{secrets.token_hex(4)}@example.de"


def _h1(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def _fill_registration(page: Page, address: str) -> None:
    page.get_by_label("E-Mail-Adresse", exact=True).fill(address)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_label("Passwort wiederholen", exact=True).fill(PASSWORD)
    page.get_by_label("Vorname(n)", exact=True).fill(GIVEN_NAMES)
    page.get_by_label("Familienname", exact=True).fill(FAMILY_NAME)
    page.get_by_label("Geburtsdatum", exact=True).fill("1980-05-17")
    page.get_by_label("Geburtsort", exact=True).fill("Cochem")
    page.get_by_label("Straße", exact=True).fill("Moselstraße")
    page.get_by_label("Hausnummer", exact=True).fill("12a")
    page.get_by_label("Postleitzahl", exact=True).fill("56812")
    page.get_by_label("Wohnort", exact=True).fill("Cochem")


def _confirmation_link(server: LiveServer, address: str) -> str:
    """The link in the newest mail, which must be to `address` (waiting briefly for it)."""
    deadline = time.monotonic() + 10
    while True:
        mails = sorted(server.mail_dir.glob("*.eml")) if server.mail_dir.is_dir() else []
        if mails:
            with mails[-1].open("rb") as handle:
                message = BytesParser(policy=email.policy.default).parse(handle)
            if message["To"] == address:
                break
        assert time.monotonic() < deadline, f"no mail to {address} in {server.mail_dir}"
        time.sleep(0.1)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None, "the confirmation mail has no text part"
    text = body.get_content()
    link = re.escape(server.base_url) + r"/confirm-email\?token=[A-Za-z0-9_\-.~%]+"
    found = re.search(link, text)
    assert found, f"no confirmation link in the mail:\n{text}"
    return found.group(0)


def _log_in(page: Page, address: str) -> None:
    page.get_by_label("E-Mail-Adresse", exact=True).fill(address)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden", exact=True).click()


def _log_out(page: Page) -> None:
    page.get_by_role("banner").get_by_role("button", name="Abmelden").click()
    expect(page).to_have_url(re.compile(r"/\?signed_out=1$"))
    expect(page.get_by_role("status")).to_have_text("Sie sind abgemeldet.")
    expect(page.get_by_role("banner").get_by_role("button", name="Abmelden")).to_have_count(0)
    expect(page.get_by_role("main").get_by_role("link", name="Anmelden")).to_be_visible()


def _code_after(secret: str, used_step: int) -> str:
    """A code of a step after `used_step`, which the server now rejects as a replay.

    The current step's code once the clock has moved on; before that the next step's code,
    which the server's one-step drift window (RFC 6238 §5.2) accepts — so no need to sleep.
    """
    step = max(int(time.time() // TOTP_STEP), used_step + 1)
    return pyotp.TOTP(secret).at(step * TOTP_STEP)


# --- the steps of the journey ------------------------------------------------------------------


def _register(page: Page, audit: Audit, address: str) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    _h1(page, "Willkommen beim ServiceKonto")
    audit.check("start")

    page.get_by_role("link", name="Registrieren").click()
    expect(page).to_have_url(re.compile(r"/register$"))
    _h1(page, "Registrieren")
    audit.check("register")

    page.get_by_role("button", name="Konto anlegen").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator('a[href="#field-email"]')).to_have_count(1)
    expect(page.locator("#field-email")).to_have_attribute("aria-invalid", "true")
    audit.check("register, submitted empty")

    _fill_registration(page, address)
    page.get_by_role("button", name="Konto anlegen").click()
    expect(page).to_have_url(re.compile(r"/register/sent$"))
    _h1(page, "Bitte bestätigen Sie Ihre E-Mail-Adresse")
    audit.check("registration sent")


def _confirm(page: Page, audit: Audit, link: str) -> None:
    page.goto(link)
    _h1(page, "E-Mail-Adresse bestätigen")
    audit.check("confirm e-mail")
    page.get_by_role("button", name="E-Mail-Adresse bestätigen").click()
    _h1(page, "E-Mail-Adresse bestätigt")
    audit.check("e-mail confirmed")


def _first_login(page: Page, audit: Audit, address: str) -> None:
    page.get_by_role("main").get_by_role("link", name="Anmelden").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    _h1(page, "Anmelden")
    audit.check("login")
    _log_in(page, address)
    expect(page).to_have_url(re.compile(r"/account$"))
    _h1(page, "Mein Konto")
    expect(page.get_by_role("main")).to_contain_text(f"Angemeldet als {FULL_NAME}.")
    expect(page.get_by_role("main")).to_contain_text("Moselstraße 12a, 56812 Cochem")
    audit.check("account")


def _enrol_authenticator(page: Page, audit: Audit) -> tuple[str, int]:
    """Set up the app; the secret and the TOTP step whose code was used."""
    page.get_by_role("link", name="Authenticator-App einrichten").click()
    expect(page).to_have_url(re.compile(r"/account/totp$"))
    _h1(page, "Authenticator-App einrichten")
    expect(page.locator(".qr svg")).to_be_visible()
    audit.check("authenticator set-up")
    secret = "".join(page.locator("#totp-secret").inner_text().split())
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), f"not a 160-bit base32 secret: {secret}"
    now = time.time()
    page.get_by_label("Sicherheitscode", exact=True).fill(pyotp.TOTP(secret).at(now))
    page.get_by_role("button", name="Einrichtung abschließen").click()
    _h1(page, "Wiederherstellungscodes")
    codes = page.locator("ol.recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    audit.check("recovery codes")

    page.get_by_role("link", name="Ich habe die Codes aufbewahrt").click()
    expect(page).to_have_url(re.compile(r"/account#security$"))
    expect(page.get_by_role("main")).to_contain_text("Eine Authenticator-App ist eingerichtet.")
    audit.check("account with authenticator")
    return secret, int(now // TOTP_STEP)


def _login_with_second_factor(
    page: Page, audit: Audit, address: str, secret: str, used_step: int
) -> None:
    page.get_by_role("main").get_by_role("link", name="Anmelden").click()
    _log_in(page, address)
    expect(page).to_have_url(re.compile(r"/login/second-factor\?next=/account$"))
    _h1(page, "Anmeldung bestätigen")
    audit.check("second factor")
    page.get_by_label("Sicherheitscode", exact=True).fill(_code_after(secret, used_step))
    page.get_by_role("button", name="Bestätigen", exact=True).click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_role("main")).to_contain_text(f"Angemeldet als {FULL_NAME}.")


def _switch_to_english_and_back(page: Page, audit: Audit) -> None:
    page.goto("/language/en?next=/login")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("E-mail address", exact=True)).to_be_visible()
    _h1(page, "Log in")
    audit.check("login in English")
    page.goto("/language/de?next=/login")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_label("E-Mail-Adresse", exact=True)).to_be_visible()


# --- the tests ---------------------------------------------------------------------------------


def test_register_confirm_enrol_totp_and_log_in_with_it(
    page: Page, audit: Audit, live_server: LiveServer
) -> None:
    address = _fresh_email()
    _register(page, audit, address)
    _confirm(page, audit, _confirmation_link(live_server, address))
    _first_login(page, audit, address)
    secret, used_step = _enrol_authenticator(page, audit)
    _log_out(page)
    audit.check("start, logged out")
    _login_with_second_factor(page, audit, address, secret, used_step)
    _log_out(page)
    _switch_to_english_and_back(page, audit)
    assert len(audit.checked) == 14, audit.checked


def _submit_with_future_birth_date_and_short_postal_code(page: Page) -> None:
    page.goto("/register")
    _fill_registration(page, _fresh_email())
    page.get_by_label("Geburtsdatum", exact=True).fill("2099-01-01")
    page.get_by_label("Postleitzahl", exact=True).fill("5681")
    page.get_by_role("button", name="Konto anlegen").click()
    expect(page.locator(".error-summary")).to_be_visible()


def test_registration_errors_are_summarised_and_typed_values_kept(page: Page, audit: Audit) -> None:
    _submit_with_future_birth_date_and_short_postal_code(page)

    main = page.get_by_role("main")
    summary = main.locator(".error-summary")
    expect(main.locator(":scope > *").first).to_have_class(re.compile(r"\berror-summary\b"))
    expect(summary).to_be_focused()  # autofocus: screen readers announce it first
    expect(summary.get_by_role("heading")).to_have_text("Bitte prüfen Sie Ihre Angaben")
    birth_link = summary.locator('a[href="#field-birth_date"]')
    expect(birth_link).to_have_text("Das Geburtsdatum darf nicht in der Zukunft liegen.")
    expect(summary.locator('a[href="#field-postal_code"]')).to_have_text(
        "Eine Postleitzahl hat fünf Ziffern, z. B. 56812."
    )
    expect(summary.locator("a")).to_have_count(2)

    birth_date = page.locator("#field-birth_date")
    expect(birth_date).to_have_attribute("aria-invalid", "true")
    expect(birth_date).to_have_attribute("aria-describedby", re.compile(r"field-birth_date-error"))
    expect(page.locator("#field-birth_date-error")).to_be_visible()
    expect(page.get_by_label("Vorname(n)", exact=True)).to_have_value(GIVEN_NAMES)
    expect(page.get_by_label("Familienname", exact=True)).to_have_value(FAMILY_NAME)
    expect(page.get_by_label("Straße", exact=True)).to_have_value("Moselstraße")
    expect(page.get_by_label("Geburtsdatum", exact=True)).to_have_value("2099-01-01")
    expect(page.get_by_label("Passwort", exact=True)).to_have_value("")
    expect(page.get_by_label("Passwort wiederholen", exact=True)).to_have_value("")
    assert PASSWORD not in page.content()
    audit.check("register with field errors")

    birth_link.click()
    expect(page).to_have_url(re.compile(r"/register#field-birth_date$"))


def test_registration_keeps_the_postal_code_to_correct(page: Page) -> None:
    _submit_with_future_birth_date_and_short_postal_code(page)
    expect(page.get_by_label("Postleitzahl", exact=True)).to_have_value("5681", timeout=2_000)
