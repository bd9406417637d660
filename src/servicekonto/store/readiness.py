"""Is this database fit to serve: reachable, and migrated to the head revision?"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, OperationalError

from servicekonto.observability import get_logger
from servicekonto.store.engine import Database, first_line
from servicekonto.store.schema import current_revision, head_revision

log = get_logger(__name__)


@dataclass(frozen=True)
class Readiness:
    ready: bool
    revision: str | None
    reason: str | None = None


def check_readiness(database: Database) -> Readiness:
    try:
        with database.connection() as connection:
            revision = current_revision(connection)
    except (OperationalError, DBAPIError) as error:
        # The reason for the operator goes to the log; the public answer names no host.
        log.warning("database unreachable", error=first_line(error))
        return Readiness(ready=False, revision=None, reason="database unreachable")
    expected = head_revision()
    if revision != expected:
        reason = (
            f"database schema at revision {revision or 'none'}, expected {expected}: "
            "run `servicekonto db upgrade`"
        )
        return Readiness(ready=False, revision=revision, reason=reason)
    return Readiness(ready=True, revision=revision)
