"""Concurrent deposits with one Idempotency-Key store one document (PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from servicekonto.app import create_app
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.keys.service import KeyService
from servicekonto.safe.models import IdempotentRequest, SafeDocument
from servicekonto.store.engine import Database
from tests.safe_helpers import add_procedure, deposit, log_in_to, opt_in, pdf, signed_in_citizen
from tests.web_helpers import RecordingMailSender, cheap_settings

pytestmark = pytest.mark.postgres
PARALLEL = 8


def test_concurrent_retries_with_one_key_store_one_document(
    race_db: Database, settings: Settings, clock: FixedClock
) -> None:
    KeyService(settings, race_db, clock).ensure_keys()
    app = create_app(
        cheap_settings(settings), database=race_db, clock=clock, mail_sender=RecordingMailSender()
    )
    procedure = add_procedure(race_db, clock, "vg-test.dogs", "vg-test")
    citizen = signed_in_citizen(app)
    subject = log_in_to(citizen, procedure)
    opt_in(citizen, procedure)
    token = procedure.token(TestClient(app))
    content, key = pdf(), f"retry-{uuid.uuid4()}"
    barrier = threading.Barrier(PARALLEL)
    answers: list[Any] = []
    lock = threading.Lock()

    def attempt() -> None:
        with TestClient(app, follow_redirects=False) as http:
            barrier.wait(timeout=10)
            answer = deposit(http, token, subject, content, key=key)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=attempt) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [a.status_code for a in answers] == [201] * PARALLEL
    assert len({a.json()["id"] for a in answers}) == 1, "every retry names the one document"
    with race_db.session() as session:
        assert session.scalar(select(func.count()).select_from(SafeDocument)) == 1
        assert session.scalar(select(func.count()).select_from(IdempotentRequest)) == 1
    blobs = [p for p in (settings.var_dir / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1, "the losers' blobs were deleted"
