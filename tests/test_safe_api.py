"""The procedures' safe API end to end: tokens from the token endpoint, each bad input refused."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.testclient import TestClient

from servicekonto.app import create_app
from servicekonto.audit.models import AuditEvent
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.keys.service import KeyService
from servicekonto.safe.models import SafeDocument
from servicekonto.store.engine import Database
from tests.safe_helpers import (
    Procedure,
    add_procedure,
    code_flow,
    deposit,
    log_in_to,
    opt_in,
    pdf,
    signed_in_citizen,
)
from tests.web_helpers import Browser, RecordingMailSender, cheap_settings


@dataclass
class World:
    app: FastAPI
    http: TestClient
    citizen: Browser
    dogs: Procedure  # public subjects, the citizen opted in
    waste: Procedure  # pairwise subjects, another authority, no opt-in
    dogs_subject: str
    waste_subject: str
    mail: RecordingMailSender

    def token(self, procedure: Procedure | None = None) -> str:
        return (procedure or self.dogs).token(self.http)


@pytest.fixture
def world(settings: Settings, db: Database, clock: FixedClock) -> World:
    KeyService(settings, db, clock).ensure_keys()
    mail = RecordingMailSender()
    limits = settings.safe.model_copy(update={"document_max_mb": 1, "quota_mb": 2})
    app = create_app(
        cheap_settings(settings, safe=limits), database=db, clock=clock, mail_sender=mail
    )
    dogs = add_procedure(db, clock, "vg-test.dogs", "vg-test")
    waste = add_procedure(db, clock, "vg-other.waste", "vg-other", subject_type="pairwise")
    citizen = signed_in_citizen(app)
    dogs_subject, waste_subject = log_in_to(citizen, dogs), log_in_to(citizen, waste)
    opt_in(citizen, dogs)
    http = TestClient(app, follow_redirects=False)
    return World(app, http, citizen, dogs, waste, dogs_subject, waste_subject, mail)


def stored_documents(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(SafeDocument)) or 0


def test_a_deposit_is_stored_mailed_without_content_and_downloadable(
    world: World, db: Database
) -> None:
    content = pdf()
    answer = deposit(
        world.http,
        world.token(),
        world.dogs_subject,
        content,
        case_reference="HA-2026-7",
        reply_by="2026-12-31",
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["category"] == "notice"
    assert body["size"] == len(content)
    uuid.UUID(body["id"])

    notice = world.mail.sent[-1]
    assert "Dokumentensafe" in notice.subject
    assert "Hundesteuerbescheid" not in notice.text, "the mail says that, not what"
    assert f"Verfahren {world.dogs.client_id}" in notice.text

    page = world.citizen.get("/safe")
    assert "Hundesteuerbescheid" in page.text and "HA-2026-7" in page.text
    assert "31.12.2026" in page.text
    download = world.citizen.get(f"/safe/documents/{body['id']}")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.content == content
    assert 'class="unread"' not in world.citizen.get("/safe").text, "read once downloaded"
    with db.session() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"safe.document_deposited", "safe.opted_in"} <= actions


def test_a_subject_the_procedure_never_saw_is_404_like_any_unknown_one(world: World) -> None:
    token = world.token()
    foreign = deposit(world.http, token, world.waste_subject, pdf())
    made_up = deposit(world.http, token, "a" * 64, pdf())
    assert foreign.status_code == made_up.status_code == 404
    assert foreign.headers["content-type"] == "application/problem+json"
    assert foreign.json()["type"] == made_up.json()["type"]
    assert foreign.json()["type"].endswith("/problems/unknown-subject")


def test_a_person_who_did_not_opt_in_is_409_for_a_procedure_they_used(
    world: World, db: Database
) -> None:
    answer = deposit(world.http, world.token(world.waste), world.waste_subject, pdf())
    assert answer.status_code == 409
    assert answer.json()["type"].endswith("/problems/safe-not-opted-in")
    assert stored_documents(db) == 0


def test_opting_out_stops_new_deposits_and_keeps_the_old_ones(world: World, db: Database) -> None:
    assert deposit(world.http, world.token(), world.dogs_subject, pdf()).status_code == 201
    world.citizen.post(f"/safe/procedures/{world.dogs.client_id}/opt-out", {})
    refused = deposit(world.http, world.token(), world.dogs_subject, pdf())
    assert refused.status_code == 409
    assert stored_documents(db) == 1


def test_tokens_without_the_scope_or_of_a_person_are_refused(world: World) -> None:
    none = deposit(world.http, "", world.dogs_subject, pdf())
    assert none.status_code == 401
    assert none.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    forged = deposit(world.http, world.token() + "x", world.dogs_subject, pdf())
    assert forged.status_code == 401
    openid_only = code_flow(world.citizen, world.dogs, scope="openid")["access_token"]
    scoped_out = deposit(world.http, openid_only, world.dogs_subject, pdf())
    assert scoped_out.status_code == 403
    assert 'error="insufficient_scope"' in scoped_out.headers["www-authenticate"]
    assert scoped_out.json()["type"].endswith("/problems/insufficient-scope")
    persons = code_flow(world.citizen, world.dogs, scope="openid safe.deposit")["access_token"]
    assert deposit(world.http, persons, world.dogs_subject, pdf()).status_code == 401


def test_a_retry_with_the_same_key_is_stored_once_and_another_body_is_422(
    world: World, db: Database
) -> None:
    content, token = pdf(), world.token()
    first = deposit(world.http, token, world.dogs_subject, content, key="bescheid-4711")
    retry = deposit(world.http, token, world.dogs_subject, content, key="bescheid-4711")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    other = deposit(
        world.http, token, world.dogs_subject, pdf("Anderer Bescheid"), key="bescheid-4711"
    )
    assert other.status_code == 422
    assert other.json()["type"].endswith("/problems/idempotency-key-reused")
    retitled = deposit(
        world.http, token, world.dogs_subject, content, key="bescheid-4711", title="Neu"
    )
    assert retitled.status_code == 422
    assert stored_documents(db) == 1
    assert len([m for m in world.mail.sent if "Dokumentensafe" in m.subject]) == 1


@pytest.mark.parametrize("key", ["", "x" * 101, "with space"])
def test_a_post_without_a_usable_idempotency_key_is_400(
    world: World, db: Database, key: str
) -> None:
    answer = deposit(world.http, world.token(), world.dogs_subject, pdf(), key=key)
    assert answer.status_code == 400
    assert answer.json()["type"].endswith("/problems/idempotency-key-missing")
    assert stored_documents(db) == 0


NOT_PDFS = {
    "windows-executable": b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200,
    "pdf-header-then-garbage": b"%PDF-1.7\n" + b"\x00garbage" * 100,
    "html": b"<html><body>Bescheid</body></html>",
    "empty": b"",
}


@pytest.mark.parametrize("content", NOT_PDFS.values(), ids=NOT_PDFS.keys())
def test_content_that_is_not_a_pdf_is_415_whatever_its_name_says(
    world: World, db: Database, settings: Settings, content: bytes
) -> None:
    answer = deposit(world.http, world.token(), world.dogs_subject, content)
    assert answer.status_code in {415, 422}  # an empty part is a missing field
    assert stored_documents(db) == 0
    assert not [p for p in (settings.var_dir / "blobs").rglob("*") if p.is_file()]


def test_an_oversized_document_is_413_and_leaves_no_blob(
    world: World, db: Database, settings: Settings
) -> None:
    big = pdf(padding=1024 * 1024 + 10)
    answer = deposit(world.http, world.token(), world.dogs_subject, big)
    assert answer.status_code == 413
    assert answer.json()["type"].endswith("/problems/document-too-large")
    assert stored_documents(db) == 0
    assert not [p for p in (settings.var_dir / "blobs").rglob("*") if p.is_file()]


def test_a_declared_length_far_beyond_the_limit_is_refused_before_reading(world: World) -> None:
    headers = {
        "authorization": f"Bearer {world.token()}",
        "idempotency-key": "huge",
        "content-type": "multipart/form-data; boundary=x",
        "content-length": str(50 * 1024 * 1024),
    }
    answer = world.http.post("/api/v1/safe/documents", content=b"--x--\r\n", headers=headers)
    assert answer.status_code == 413


def test_a_full_safe_refuses_more_with_409(world: World, db: Database) -> None:
    token = world.token()
    for _ in range(2):
        stored = deposit(world.http, token, world.dogs_subject, pdf(padding=900 * 1024))
        assert stored.status_code == 201, stored.text
    full = deposit(world.http, token, world.dogs_subject, pdf(padding=400 * 1024))
    assert full.status_code == 409
    assert full.json()["type"].endswith("/problems/safe-quota-exceeded")
    assert stored_documents(db) == 2


def test_document_ids_of_other_people_are_not_found(
    world: World, settings: Settings, db: Database, clock: FixedClock
) -> None:
    answer = deposit(world.http, world.token(), world.dogs_subject, pdf())
    document_id = answer.json()["id"]
    stranger = Browser(world.app)
    mail: RecordingMailSender = world.app.state.accounts.notifier._sender
    stranger.register(email="fremd@example.org")
    stranger.confirm(mail.last_link("fremd@example.org"))
    stranger.login(email="fremd@example.org")
    assert stranger.get(f"/safe/documents/{document_id}").status_code == 404
    assert stranger.get(f"/safe/documents/{uuid.uuid4()}").status_code == 404
    assert stranger.post(f"/safe/documents/{document_id}/delete", {}).status_code == 404
    assert stored_documents(db) == 1
    assert world.citizen.get(f"/safe/documents/{document_id}").status_code == 200


def test_the_person_deletes_a_document_and_its_blob_goes_with_it(
    world: World, db: Database, settings: Settings
) -> None:
    document_id = deposit(world.http, world.token(), world.dogs_subject, pdf()).json()["id"]
    answer = world.citizen.post(f"/safe/documents/{document_id}/delete", {})
    assert answer.status_code == 303
    assert stored_documents(db) == 0
    assert not [p for p in (settings.var_dir / "blobs").rglob("*") if p.is_file()]
    assert world.citizen.get(f"/safe/documents/{document_id}").status_code == 404
    with db.session() as session:
        deleted = session.scalars(
            select(AuditEvent).filter_by(action="safe.document_deleted")
        ).one()
    assert deleted.details["document_id"] == document_id
    refused = world.citizen.client.post(f"/safe/documents/{document_id}/delete", data={})
    assert refused.status_code in {400, 403, 404}, "no CSRF token, nothing happens"


def post_json(world: World, path: str, body: dict[str, str], token: str, key: str) -> Any:
    headers = {"authorization": f"Bearer {token}", "idempotency-key": key}
    return world.http.post(path, json=body, headers=headers)


def test_a_case_is_opened_updated_and_shown_with_its_history(world: World) -> None:
    token = world.token()
    opening = {
        "subject": world.dogs_subject,
        "reference": "32/123-2026",
        "title": "Anmeldung eines Hundes",
        "message": "Ihr Antrag ist eingegangen.",
    }
    opened = post_json(world, "/api/v1/safe/cases", opening, token, "case-1")
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    assert opened.json()["status"] == "received"
    update = {"status": "waiting_for_applicant", "message": "Bitte Impfpass nachreichen."}
    path = f"/api/v1/safe/cases/{case_id}/status"
    updated = post_json(world, path, update, token, "case-1-status-1")
    assert updated.status_code == 200
    assert updated.json()["status"] == "waiting_for_applicant"
    again = post_json(world, "/api/v1/safe/cases", opening, token, "case-1-again")
    assert again.status_code == 409
    assert again.json()["case_id"] == case_id

    page = world.citizen.get("/safe/cases").text
    assert "32/123-2026" in page
    assert "Wartet auf Ihre Angaben" in page and "Bitte Impfpass nachreichen." in page
    assert page.index("Eingegangen") < page.index("Bitte Impfpass"), "oldest first"


def test_a_case_of_another_procedure_is_404_and_bad_statuses_are_422(world: World) -> None:
    opening = {"subject": world.dogs_subject, "reference": "A-1", "title": "Antrag"}
    case_id = post_json(world, "/api/v1/safe/cases", opening, world.token(), "c").json()["id"]
    world.citizen.post(f"/safe/procedures/{world.waste.client_id}/opt-in", {})
    path = f"/api/v1/safe/cases/{case_id}/status"
    foreign = post_json(world, path, {"status": "closed"}, world.token(world.waste), "w")
    assert foreign.status_code == 404
    assert foreign.json()["type"].endswith("/problems/unknown-case")
    invalid = post_json(world, path, {"status": "lost"}, world.token(), "bad-status")
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"
    unknown = post_json(
        world, f"/api/v1/safe/cases/{uuid.uuid4()}/status", {"status": "closed"}, world.token(), "u"
    )
    assert unknown.status_code == 404
