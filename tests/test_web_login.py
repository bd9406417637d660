"""Logging in and out, second factor, brute-force defence and sessions, through the pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from servicekonto.accounts.models import LoginSession, Person
from servicekonto.clock import FixedClock
from servicekonto.i18n.catalog import Translator
from servicekonto.security.passwords import PasswordHasher
from servicekonto.store.engine import Database
from tests.web_helpers import EMAIL, Browser, RecordingMailSender

GERMAN = Translator("de")
COOKIE = "sk_session"


def _session_cookie(response: object) -> str:
    header = response.headers["set-cookie"]  # type: ignore[attr-defined]
    match = re.search(rf"{COOKIE}=([^;]+)", header)
    assert match, header
    return match.group(1)


def test_login_sets_a_safe_session_cookie_and_shows_the_account(citizen: Browser) -> None:
    account = citizen.get("/account")
    assert account.status_code == 200
    assert "Anna Maria Schmitz-Müller" in account.text
    assert account.headers["cache-control"] == "no-store"


def test_session_cookie_flags(browser: Browser, mail: RecordingMailSender) -> None:
    browser.register()
    browser.confirm(mail.last_link())
    response = browser.login()
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie, "the development issuer is http"
    assert _session_cookie(response).startswith("sk_ses_")


def test_session_token_is_stored_only_as_a_digest(citizen: Browser, db: Database) -> None:
    token = citizen.client.cookies[COOKIE]
    with db.session() as session:
        digests = list(session.scalars(select(LoginSession.token_digest)))
    assert token not in digests
    assert len(digests) == 1
    assert len(digests[0]) == 64


def test_wrong_password_and_unknown_address_get_the_same_answer(
    browser: Browser, mail: RecordingMailSender
) -> None:
    browser.register()
    browser.confirm(mail.last_link())
    wrong = browser.login(password="Moselwein im Winter")
    unknown = browser.login(email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 422
    assert GERMAN("login.failed") in wrong.text
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", wrong.text) == strip.sub("", unknown.text)
    assert COOKIE not in wrong.headers.get("set-cookie", "")


def test_unconfirmed_address_gets_a_new_link_at_most_every_five_minutes(
    browser: Browser, mail: RecordingMailSender, clock: FixedClock
) -> None:
    browser.register()
    clock.advance(timedelta(minutes=6))
    first = browser.login()
    assert first.status_code == 403
    assert GERMAN("login_unconfirmed.title") in first.text
    browser.login()
    assert len(mail.sent) == 2, "one registration mail, one resend"
    first_link = re.search(r"https?://\S+", mail.sent[0].text)
    assert first_link
    assert browser.confirm(first_link.group(0)).status_code == 410, "the new link voids the old"
    assert browser.confirm(mail.last_link()).status_code == 200


def _fail(browser: Browser, email: str, times: int) -> list[int]:
    return [
        browser.login(email=email, password="Falsches Passwort 1").status_code for _ in range(times)
    ]


@pytest.mark.parametrize("email", [EMAIL, "nobody@example.org"], ids=["known", "unknown"])
def test_failures_slow_down_then_lock_alike_for_known_and_unknown(
    browser: Browser, mail: RecordingMailSender, clock: FixedClock, email: str
) -> None:
    browser.register()
    browser.confirm(mail.last_link())
    assert _fail(browser, email, 3) == [422, 422, 422]
    throttled = browser.login(email=email)
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "1"
    assert GERMAN("login.throttled", wait=1) in throttled.text
    for _ in range(7):  # wait out each growing delay, fail again
        clock.advance(timedelta(seconds=60))
        assert _fail(browser, email, 1) == [422]
    clock.advance(timedelta(seconds=60))
    locked = browser.login(email=email)
    assert locked.status_code == 429
    assert 800 < int(locked.headers["retry-after"]) <= 900
    clock.advance(timedelta(minutes=15))
    if email == EMAIL:
        assert browser.login().status_code == 303, "the lock runs out"


def test_throttled_attempts_do_not_check_the_password(
    browser: Browser, mail: RecordingMailSender
) -> None:
    browser.register()
    browser.confirm(mail.last_link())
    _fail(browser, EMAIL, 3)
    assert browser.login().status_code == 429, "even the right password waits"


@pytest.mark.parametrize(
    "cookie",
    [
        "sk_ses_forged",
        "sk_ses_" + "A" * 43,
        "not-ours",
        "sk_ses_" + "x" * 5000,
        "sk_ec_" + "a" * 43,
    ],
)
def test_forged_session_cookies_grant_nothing(browser: Browser, cookie: str) -> None:
    browser.client.cookies.set(COOKIE, cookie)
    response = browser.get("/account")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/account")


def test_logout_ends_the_session_on_the_server(citizen: Browser) -> None:
    token = citizen.client.cookies[COOKIE]
    assert citizen.logout().headers["location"] == "/?signed_out=1"
    citizen.client.cookies.clear()
    citizen.client.cookies.set(COOKIE, token)
    assert citizen.get("/account").status_code == 303


def test_idle_and_absolute_timeouts(citizen: Browser, clock: FixedClock) -> None:
    clock.advance(timedelta(minutes=59))
    assert citizen.get("/account").status_code == 200
    for _ in range(11):  # active every 59 minutes: the idle limit keeps moving ...
        clock.advance(timedelta(minutes=59))
        assert citizen.get("/account").status_code == 200
    clock.advance(timedelta(minutes=59))  # ... but not past 12 hours
    assert citizen.get("/account").status_code == 303


def test_idle_timeout_ends_an_untouched_session(citizen: Browser, clock: FixedClock) -> None:
    clock.advance(timedelta(minutes=61))
    assert citizen.get("/account").status_code == 303


def test_totp_login_renews_the_session_and_refuses_a_replayed_code(
    citizen: Browser, clock: FixedClock
) -> None:
    secret, _ = citizen.enrol_totp(clock.now())
    citizen.logout()
    clock.advance(timedelta(seconds=60))
    pending = citizen.login()
    assert pending.headers["location"].startswith("/login/second-factor")
    pending_token = _session_cookie(pending)
    assert citizen.get("/account").status_code == 303, "half a login grants nothing"
    code = pyotp.TOTP(secret).at(clock.now())
    done = citizen.post(
        "/login/second-factor", {"method": "totp", "code": code, "next": "/account"}
    )
    assert done.status_code == 303
    assert _session_cookie(done) != pending_token, "a new token at the step-up"
    assert citizen.get("/account").status_code == 200
    citizen.logout()
    citizen.login()
    replay = citizen.post(
        "/login/second-factor", {"method": "totp", "code": code, "next": "/account"}
    )
    assert replay.status_code == 422
    assert GERMAN("code.wrong") in replay.text


def test_old_pending_token_is_useless_after_the_step_up(
    citizen: Browser, clock: FixedClock
) -> None:
    secret, _ = citizen.enrol_totp(clock.now())
    citizen.logout()
    clock.advance(timedelta(seconds=60))
    pending_token = _session_cookie(citizen.login())
    citizen.post(
        "/login/second-factor", {"method": "totp", "code": pyotp.TOTP(secret).at(clock.now())}
    )
    assert citizen.get("/account").status_code == 200
    citizen.client.cookies.clear()
    citizen.client.cookies.set(COOKIE, pending_token)
    assert citizen.get("/account").status_code == 303


def test_recovery_code_logs_in_once(citizen: Browser, clock: FixedClock) -> None:
    _, codes = citizen.enrol_totp(clock.now())
    assert len(codes) == 10
    citizen.logout()
    citizen.login()
    used = citizen.post(
        "/login/second-factor", {"method": "recovery", "recovery_code": codes[0].lower()}
    )
    assert used.status_code == 303
    citizen.logout()
    citizen.login()
    again = citizen.post("/login/second-factor", {"method": "recovery", "recovery_code": codes[0]})
    assert again.status_code == 422
    assert GERMAN("recovery_code.wrong") in again.text


def test_second_factor_page_without_a_pending_login_goes_to_login(browser: Browser) -> None:
    assert browser.get("/login/second-factor").headers["location"] == "/login"
    assert browser.post("/login/second-factor", {"code": "123456"}).headers["location"] == "/login"


def test_logout_everywhere_ends_the_other_devices(
    citizen: Browser, web_app: FastAPI, db: Database
) -> None:
    other = Browser(web_app)
    assert other.login().status_code == 303
    assert other.get("/account").status_code == 200
    response = citizen.post("/account/logout-everywhere", {})
    assert response.headers["location"] == "/?signed_out=everywhere"
    assert other.get("/account").status_code == 303
    assert citizen.get("/account").status_code == 303


def test_logout_without_csrf_token_is_refused(citizen: Browser) -> None:
    response = citizen.post("/logout", {}, with_csrf=False)
    assert response.status_code == 403
    assert citizen.get("/account").status_code == 200


def test_password_is_rehashed_when_the_parameters_change(
    browser: Browser, mail: RecordingMailSender, db: Database, web_app: FastAPI
) -> None:
    browser.register()
    browser.confirm(mail.last_link())
    with db.session() as session:
        old_hash = session.scalars(select(Person.password_hash)).one()
    assert "m=8192,t=1" in old_hash
    stronger = web_app.state.accounts.settings.argon2.model_copy(update={"time_cost": 2})
    object.__setattr__(web_app.state.accounts, "hasher", PasswordHasher(stronger))
    assert browser.login().status_code == 303
    with db.session() as session:
        new_hash = session.scalars(select(Person.password_hash)).one()
    assert "m=8192,t=2" in new_hash


def test_next_parameter_never_leaves_the_site(browser: Browser, mail: RecordingMailSender) -> None:
    browser.register()
    browser.confirm(mail.last_link())
    for target in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/account\r\nX: y",
    ]:
        response = browser.login(next=target)
        assert response.headers["location"] == "/account"
        browser.logout()
