"""What a statement did: the guarded single-use UPDATEs decide by the rows they touched."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result


def rows_affected(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE changed (session.execute returns a cursor result for them)."""
    return cast(CursorResult[Any], result).rowcount
