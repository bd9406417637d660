"""A district with two procedures and a citizen who logged in to both, for the safe's tests."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import FastAPI
from jose import jwt as jose_jwt
from pypdf import PdfWriter
from starlette.testclient import TestClient

from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clients.schemas import ClientSpec
from servicekonto.clients.service import ClientService, digester_for
from servicekonto.clock import FixedClock
from servicekonto.safe.demo_documents import demo_pdf
from servicekonto.store.engine import Database
from tests.conftest import TEST_SECRET_KEY
from tests.web_helpers import Browser, RecordingMailSender

CALLBACK = "https://procedure.example.de/callback"
DEPOSIT_SCOPE = "safe.deposit"


@dataclass
class Procedure:
    client_id: str
    secret: str

    def token(self, http: TestClient, scope: str = DEPOSIT_SCOPE) -> str:
        answer = http.post(
            "/oidc/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(self.client_id, self.secret),
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token


def add_procedure(
    db: Database, clock: FixedClock, client_id: str, authority: str, **overrides: Any
) -> Procedure:
    ensured = AuthorityService(db, clock).ensure(
        AuthoritySpec(
            slug=authority, name=authority.upper(), kind=AuthorityKind.MUNICIPAL_ASSOCIATION
        ),
        actor="test",
    )
    spec = {
        "client_id": client_id,
        "name": f"Verfahren {client_id}",
        "authority": authority,
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "client_credentials"],
        "scopes": ["openid", "profile", DEPOSIT_SCOPE],
        "default_trust_level": 1,
        "consent_required": False,
        **overrides,
    }
    added = ClientService(db, clock, digester_for(TEST_SECRET_KEY)).add(
        ClientSpec.model_validate(spec), ensured.authority.id, "test"
    )
    assert added.client_secret is not None
    return Procedure(client_id, added.client_secret)


def signed_in_citizen(app: FastAPI) -> Browser:
    browser = Browser(app)
    mail: RecordingMailSender = app.state.accounts.notifier._sender
    browser.register()
    browser.confirm(mail.last_link())
    assert browser.login().status_code == 303
    return browser


def authorization_request(procedure: Procedure, scope: str, **extra: str) -> tuple[str, str]:
    """The path of a code-flow request with PKCE S256, and the verifier to redeem it with."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": procedure.client_id,
            "redirect_uri": CALLBACK,
            "scope": scope,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            **extra,
        }
    )
    return f"/oidc/authorize?{query}", verifier


def redeem_code(browser: Browser, procedure: Procedure, callback: str, verifier: str) -> Any:
    """Exchange the code of a callback URL at the token endpoint; the token response."""
    code = parse_qs(urlsplit(callback).query)["code"][0]
    answer = browser.client.post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(procedure.client_id, procedure.secret),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def code_flow(browser: Browser, procedure: Procedure, scope: str = "openid profile") -> Any:
    """A code flow to the procedure; returns the token response."""
    request, verifier = authorization_request(procedure, scope)
    callback = browser.get(request).headers["location"]
    return redeem_code(browser, procedure, callback, verifier)


def log_in_to(browser: Browser, procedure: Procedure) -> str:
    """Log in to the procedure; returns the `sub` its ID token carries."""
    subject: str = jose_jwt.get_unverified_claims(code_flow(browser, procedure)["id_token"])["sub"]
    return subject


def opt_in(browser: Browser, procedure: Procedure) -> None:
    answer = browser.post(f"/safe/procedures/{procedure.client_id}/opt-in", {})
    assert answer.status_code == 303, answer.text


def pdf(title: str = "Bescheid über die Hundesteuer", padding: int = 0) -> bytes:
    content = demo_pdf(title, ["Zeile eins", "Zeile zwei"], date(2026, 11, 21))
    if not padding:
        return content
    # An attached file of random bytes grows a valid PDF to about the wanted size.
    writer = PdfWriter(clone_from=io.BytesIO(content))
    writer.add_attachment("padding.bin", os.urandom(padding))
    grown = io.BytesIO()
    writer.write(grown)
    return grown.getvalue()


def deposit(
    http: TestClient,
    token: str,
    subject: str,
    content: bytes,
    key: str | None = None,
    **fields: str,
) -> Any:
    form = {"subject": subject, "title": "Hundesteuerbescheid", "category": "notice", **fields}
    headers = {"authorization": f"Bearer {token}"}
    headers["idempotency-key"] = key if key is not None else str(uuid.uuid4())
    if key == "":
        del headers["idempotency-key"]
    files = {"document": ("bescheid.pdf", content, "application/pdf")}
    return http.post("/api/v1/safe/documents", data=form, files=files, headers=headers)
