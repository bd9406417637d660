"""What a statement did: the guarded single-use UPDATEs decide by the rows they touched."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result

from servicekonto.store.loop import LoopResult


def rows_affected(result: Result[Any] | LoopResult) -> int:
    """Rows an UPDATE or DELETE changed (session.execute returns a cursor result for them)."""
    if isinstance(result, LoopResult):
        return result.rowcount
    return cast(CursorResult[Any], result).rowcount
