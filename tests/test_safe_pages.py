"""The citizen's side of the safe: favourites, opt-in choices, retention, and the demo deposits."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from servicekonto.audit.models import AuditEvent
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.safe.models import SafeDocument
from servicekonto.safe.purge import purge
from servicekonto.store.engine import Database
from tests.cli_helpers import run_cli
from tests.safe_helpers import (
    Procedure,
    add_procedure,
    deposit,
    log_in_to,
    opt_in,
    pdf,
    signed_in_citizen,
)
from tests.web_helpers import Browser, provider_with_keys


@pytest.fixture
def safe_app(settings: Settings, db: Database, clock: FixedClock) -> FastAPI:
    return provider_with_keys(settings, db, clock)


@pytest.fixture
def dogs(db: Database, clock: FixedClock) -> Procedure:
    return add_procedure(
        db, clock, "vg-test.dogs", "vg-test", client_uri="https://hunde.vg-test.example/"
    )


def test_favourites_are_pinned_from_the_list_and_shown_on_the_start_page(
    safe_app: FastAPI, dogs: Procedure, db: Database, clock: FixedClock
) -> None:
    add_procedure(db, clock, "vg-other.waste", "vg-other")
    citizen = signed_in_citizen(safe_app)
    listing = citizen.get("/favourites").text
    assert "VG-TEST" in listing and "VG-OTHER" in listing, "every authority of the district"
    assert "Verfahren vg-other.waste" in listing
    assert citizen.post(f"/favourites/{dogs.client_id}/add", {}).status_code == 303
    start = citizen.get("/").text
    assert '<a href="https://hunde.vg-test.example/">Verfahren vg-test.dogs</a>' in start
    assert "Verfahren vg-other.waste" not in start
    citizen.post(f"/favourites/{dogs.client_id}/remove", {})
    assert "Verfahren vg-test.dogs" not in citizen.get("/").text
    assert citizen.post("/favourites/no-such.procedure/add", {}).status_code == 404


def test_the_opt_in_list_shows_only_procedures_the_person_used(
    safe_app: FastAPI, dogs: Procedure, db: Database, clock: FixedClock
) -> None:
    add_procedure(db, clock, "vg-other.waste", "vg-other")
    citizen = signed_in_citizen(safe_app)
    assert "Verfahren vg-test.dogs" not in citizen.get("/safe").text
    log_in_to(citizen, dogs)
    page = citizen.get("/safe").text
    assert "Verfahren vg-test.dogs: darf keine Dokumente ablegen" in page
    assert "Verfahren vg-other.waste" not in page
    opt_in(citizen, dogs)
    assert "Verfahren vg-test.dogs: darf Dokumente ablegen" in citizen.get("/safe").text
    assert citizen.post("/safe/procedures/vg-other.waste/sideways", {}).status_code == 404


def test_pages_of_the_safe_need_a_login(safe_app: FastAPI) -> None:
    visitor = Browser(safe_app)
    for path in ("/safe", "/safe/cases", "/favourites"):
        answer = visitor.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/login?next={path}"


def test_retention_purges_expired_documents_with_their_blobs(
    safe_app: FastAPI, dogs: Procedure, db: Database, clock: FixedClock, settings: Settings
) -> None:
    citizen = signed_in_citizen(safe_app)
    subject = log_in_to(citizen, dogs)
    opt_in(citizen, dogs)
    http = citizen.client
    token = dogs.token(http)
    assert deposit(http, token, subject, pdf(), category="interim_message").status_code == 201
    assert deposit(http, token, subject, pdf(), category="notice").status_code == 201
    clock.advance(timedelta(days=settings.safe.retention_interim_message_days + 1))
    report = purge(db, clock, safe_app.state.blobs, settings.safe)
    assert report.documents == {"receipt": 0, "interim_message": 1, "notice": 0, "other": 0}
    assert report.idempotency_records == 2
    with db.session() as session:
        assert session.scalars(select(SafeDocument.category)).all() == ["notice"]
        purged = session.scalar(
            select(func.count()).select_from(AuditEvent).filter_by(action="safe.document_purged")
        )
    assert purged == 1
    blobs = [p for p in (settings.var_dir / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1


def test_the_demo_deposits_two_documents_and_purge_runs_from_the_cli(tmp_path: Path) -> None:
    demo = run_cli(tmp_path, "demo", "--json")
    assert demo.returncode == 0, demo.stderr
    assert json.loads(demo.stdout)["created"]["safe_documents"] == 2
    purged = run_cli(tmp_path, "safe", "purge", "--json")
    assert purged.returncode == 0, purged.stderr
    summary = json.loads(purged.stdout)
    assert summary["documents"] == {"receipt": 0, "interim_message": 0, "notice": 0, "other": 0}
    assert summary["stale_uploads"] == 0
