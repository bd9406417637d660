"""Credentials the measured requests carry: client secrets, single-use codes and refresh tokens,
a live access token, CSRF cookie and token pairs of the login form.

Codes and refresh tokens are issued through the service's own `GrantStore` with the server's
secret key, so their digests are the ones the server looks up; nothing is written to the tables
by hand. An access token is obtained the way a procedure obtains one, by exchanging a code.
"""

from __future__ import annotations

import base64
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlencode

import httpx

from servicekonto.clock import SystemClock
from servicekonto.config import OAuthSettings
from servicekonto.demo import DEMO_CITIZEN_EMAIL, DEMO_CITIZEN_PASSWORD
from servicekonto.security.secrets import Digester
from servicekonto.store.engine import Database
from servicekonto.tokens.codes import Grant, GrantStore
from servicekonto.trust.levels import AuthMethod, TrustLevel
from servicekonto.trust.vocabularies import DEFAULT_VOCABULARY, acr_value
from servicekonto.web.csrf import CSRF_COOKIE

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
# Persons' tokens in the suite ask for what a procedure showing a name needs; `openid` makes the
# code exchange sign an ID token too.
PERSON_SCOPE = "openid profile"
SERVICE_SCOPE = "safe.deposit"
# Issuing is one transaction per credential; a few threads overlap the round trips.
ISSUING_THREADS = 4
FORM_CONTENT_TYPE = {"content-type": "application/x-www-form-urlencoded"}


class PreparationError(Exception):
    """A run could not be prepared: the server did not hand out what the run needs."""


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str

    def basic_authorization(self) -> str:
        """RFC 6749 §2.3.1: both parts form-encoded, then HTTP Basic."""
        pair = f"{quote(self.client_id, safe='')}:{quote(self.secret, safe='')}"
        return "Basic " + base64.b64encode(pair.encode()).decode()


@dataclass(frozen=True)
class Seeded:
    """What the demo and the suite's own client registration created."""

    person_id: uuid.UUID
    procedure: Client
    redirect_uri: str
    service: Client


class Credentials:
    def __init__(self, base_url: str, database_url: str, secret_key: str, seeded: Seeded) -> None:
        self.base_url = base_url
        self.seeded = seeded
        self._clock = SystemClock()
        self._database = Database.from_url(database_url)
        # As servicekonto.app builds it: the same purpose, so digests match the server's.
        refresh_days = OAuthSettings().refresh_token_days
        self._grants = GrantStore(
            self._database, Digester(secret_key, "grant"), timedelta(days=refresh_days)
        )

    def close(self) -> None:
        self._database.dispose()

    def _grant(self) -> Grant:
        """A grant as the authorization endpoint makes one after a password login (level 1)."""
        now = self._clock.now()
        return Grant(
            client_id=self.seeded.procedure.client_id,
            person_id=self.seeded.person_id,
            scope=PERSON_SCOPE,
            acr=acr_value(TrustLevel.BASIC, DEFAULT_VOCABULARY) or "",
            amr=[AuthMethod.PASSWORD.value],
            auth_time=now - timedelta(seconds=5),
            family_id=uuid.uuid4(),
            redirect_uri=self.seeded.redirect_uri,
        )

    def codes(self, count: int) -> list[str]:
        """Fresh authorization codes; they live 60 s, so issue them right before they are used."""

        def one(_: int) -> str:
            return self._grants.issue_code(self._grant(), None, self._clock.now())

        with ThreadPoolExecutor(ISSUING_THREADS) as pool:
            return list(pool.map(one, range(count)))

    def refresh_tokens(self, count: int) -> list[str]:
        def one(_: int) -> str:
            token: str = self._grants.issue_refresh(self._grant(), self._clock.now())
            return token

        with ThreadPoolExecutor(ISSUING_THREADS) as pool:
            return list(pool.map(one, range(count)))

    def code_bodies(self, count: int) -> list[str]:
        redirect = self.seeded.redirect_uri
        return [
            urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect})
            for code in self.codes(count)
        ]

    def refresh_bodies(self, count: int) -> list[str]:
        return [
            urlencode({"grant_type": "refresh_token", "refresh_token": token})
            for token in self.refresh_tokens(count)
        ]

    def access_token(self) -> str:
        """A person's access token, obtained by exchanging a code as a procedure would."""
        body = self.code_bodies(1)[0]
        response = httpx.post(
            f"{self.base_url}/oidc/token",
            content=body,
            headers={
                "authorization": self.seeded.procedure.basic_authorization(),
                **FORM_CONTENT_TYPE,
            },
            timeout=10,
        )
        if response.status_code != 200:
            raise PreparationError(
                f"code exchange for an access token: {response.status_code} {response.text[:200]}"
            )
        token: str = response.json()["access_token"]
        return token

    def login_forms(self, count: int) -> list[tuple[str, str]]:
        """(CSRF cookie, form body) pairs, each from its own visit to the login page."""
        forms = []
        for _ in range(count):
            with httpx.Client(base_url=self.base_url, timeout=10) as browser:
                page = browser.get("/login")
                token = CSRF_FIELD.search(page.text)
                cookie = browser.cookies.get(CSRF_COOKIE)
                if token is None or cookie is None:
                    raise PreparationError(
                        f"the login page ({page.status_code}) has no CSRF cookie and token"
                    )
            body = urlencode(self.login_form_fields(token.group(1)))
            forms.append((cookie, body))
        return forms

    @staticmethod
    def login_form_fields(csrf_token: str) -> dict[str, str]:
        """The login form as the demo citizen fills it in."""
        return {
            "csrf_token": csrf_token,
            "email": DEMO_CITIZEN_EMAIL,
            "password": DEMO_CITIZEN_PASSWORD,
            "next": "/account",
        }
