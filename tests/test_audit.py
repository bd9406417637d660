"""Audit events are written with the decision and can never be changed or removed."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from servicekonto.audit.models import AuditEvent
from servicekonto.audit.repository import AuditRepository
from servicekonto.audit.service import AuditEntry, record
from servicekonto.clock import FixedClock
from servicekonto.observability import bind_request_id, reset_request_id
from servicekonto.store.engine import Database

ENTRY = AuditEntry(
    action="test.decided",
    actor="staff:1234",
    subject_type="person",
    subject_id="abc",
    details={"decision": "approved", "level": 3},
)


def _record(db: Database, clock: FixedClock) -> None:
    with db.unit_of_work() as uow:
        record(uow.session, clock, ENTRY)
        uow.commit()


def test_event_is_stored_with_time_request_id_and_details(db: Database, clock: FixedClock) -> None:
    _, token = bind_request_id("req-0123456789")
    try:
        _record(db, clock)
    finally:
        reset_request_id(token)
    with db.session() as session:
        (event,) = AuditRepository(session).for_subject("person", "abc")
    assert event.occurred_at == clock.now()
    assert event.request_id == "req-0123456789"
    assert event.details == {"decision": "approved", "level": 3}
    assert event.actor == "staff:1234"


@pytest.mark.parametrize(
    "statement",
    [update(AuditEvent).values(action="test.rewritten"), delete(AuditEvent)],
    ids=["update", "delete"],
)
def test_events_cannot_be_rewritten(db: Database, clock: FixedClock, statement: object) -> None:
    _record(db, clock)
    with db.unit_of_work() as uow, pytest.raises(DBAPIError, match="append-only"):
        uow.session.execute(statement)  # type: ignore[call-overload]
    with db.session() as session:
        assert [event.action for event in AuditRepository(session).by_action("test.decided")] == [
            "test.decided"
        ]
