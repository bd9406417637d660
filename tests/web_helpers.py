"""Driving the hosted pages through the ASGI app, as a browser without JavaScript would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.testclient import TestClient

from servicekonto.accounts.models import Person
from servicekonto.app import create_app
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.keys.service import KeyService
from servicekonto.mail.message import OutgoingMail
from servicekonto.store.engine import Database

PASSWORD = "Moselwein im Herbst"
EMAIL = "anna.beispiel@example.org"
REGISTRATION = {
    "email": EMAIL,
    "password": PASSWORD,
    "password_confirm": PASSWORD,
    "academic_title": "",
    "given_names": "Anna Maria",
    "family_name": "Schmitz-Müller",
    "birth_name": "",
    "birth_date": "1980-05-17",
    "birth_place": "Cochem",
    "street": "Moselstraße",
    "house_number": "12a",
    "postal_code": "56812",
    "city": "Cochem",
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LINK = re.compile(r"https?://\S+")


@dataclass
class RecordingMailSender:
    """Keeps sent mail in memory; the real senders are tested against a real SMTP server."""

    sent: list[OutgoingMail] = field(default_factory=list)

    def send(self, mail: OutgoingMail) -> None:
        self.sent.append(mail)

    def last_link(self, to: str | None = None) -> str:
        mails = [mail for mail in self.sent if to is None or mail.to == to]
        assert mails, "no mail was sent"
        match = _LINK.search(mails[-1].text)
        assert match, "the mail has no link"
        return match.group(0)


def cheap_settings(settings: Settings, **overrides: Any) -> Settings:
    """Fast argon2 for tests (the real parameters are measured in bench/)."""
    update: dict[str, Any] = {
        "argon2": settings.argon2.model_copy(update={"time_cost": 1, "memory_cost_kib": 8192})
    }
    update.update(overrides)
    return settings.model_copy(update=update)


def provider_with_keys(settings: Settings, db: Database, clock: FixedClock) -> FastAPI:
    """The app with its signing keys made, cheap argon2, and mail kept in memory."""
    KeyService(settings, db, clock).ensure_keys()
    return create_app(
        cheap_settings(settings), database=db, clock=clock, mail_sender=RecordingMailSender()
    )


class Browser:
    """A TestClient that remembers the CSRF token and follows no redirects on its own."""

    def __init__(self, app: FastAPI) -> None:
        self.client = TestClient(app, follow_redirects=False, raise_server_exceptions=True)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def csrf(self) -> str:
        match = _CSRF.search(self.client.get("/login").text)
        assert match
        return match.group(1)

    def post(self, path: str, data: dict[str, str], with_csrf: bool = True, **kwargs: Any) -> Any:
        form = {"csrf_token": self.csrf(), **data} if with_csrf else dict(data)
        return self.client.post(path, data=form, **kwargs)

    def path_of(self, link: str) -> str:
        return re.sub(r"^https?://[^/]+", "", link)

    def register(self, **overrides: str) -> Any:
        return self.post("/register", {**REGISTRATION, **overrides})

    def confirm(self, link: str) -> Any:
        token = link.split("token=", 1)[1]
        return self.post("/confirm-email", {"token": token})

    def confirm_at(self, path: str, text_with_link: str) -> Any:
        match = _LINK.search(text_with_link)
        assert match
        return self.post(path, {"token": match.group(0).split("token=", 1)[1]})

    def login(self, email: str = EMAIL, password: str = PASSWORD, next: str = "/account") -> Any:
        return self.post("/login", {"email": email, "password": password, "next": next})

    def logout(self) -> Any:
        return self.post("/logout", {})

    def enrol_totp(self, now: datetime) -> tuple[str, list[str]]:
        """Set up an authenticator at the server's time; returns the seed and recovery codes."""
        page = self.get("/account/totp")
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
        assert secret, page.text
        response = self.post("/account/totp", {"code": pyotp.TOTP(secret.group(1)).at(now)})
        assert response.status_code == 200, response.text
        return secret.group(1), re.findall(r"<code>([A-Z2-9-]+)</code>", response.text)


def people(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Person)) or 0


@pytest.fixture
def mail() -> RecordingMailSender:
    return RecordingMailSender()


@pytest.fixture
def web_app(
    settings: Settings, db: Database, clock: FixedClock, mail: RecordingMailSender
) -> FastAPI:
    return create_app(cheap_settings(settings), database=db, clock=clock, mail_sender=mail)


@pytest.fixture
def browser(web_app: FastAPI) -> Iterator[Browser]:
    browser = Browser(web_app)
    yield browser
    browser.client.close()


@pytest.fixture
def citizen(browser: Browser, mail: RecordingMailSender) -> Browser:
    """A registered, confirmed and signed-in person."""
    assert browser.register().status_code == 303
    assert browser.confirm(mail.last_link()).status_code == 200
    assert browser.login().status_code == 303
    return browser
