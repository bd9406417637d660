"""The SQL the hot endpoints really send, and PostgreSQL's plans for it on a given schema.

The app is built in this process on the schema and driven once per endpoint through
Starlette's test client; a SQLAlchemy cursor hook records every statement with its parameters.
Each distinct statement is then run again under EXPLAIN (ANALYZE, BUFFERS) inside a transaction
that is rolled back, so updates are planned and timed without being kept; inserts, which would
collide with the rows they wrote, are only planned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from servicekonto.app import create_app
from servicekonto.config import load_settings

# The pool's liveness probe and transaction control are not queries worth planning.
NOT_PLANNED = ("SELECT 1", "BEGIN", "COMMIT", "ROLLBACK")


@dataclass
class Recorder:
    """Statements in the order first seen, each with the endpoints that sent it."""

    current: str = ""
    statements: dict[str, tuple[Any, list[str]]] = field(default_factory=dict)

    def __call__(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.strip().upper().startswith(NOT_PLANNED):
            return
        known = self.statements.setdefault(statement, (parameters, []))
        if self.current not in known[1]:
            known[1].append(self.current)


def capture(settings_env: dict[str, str], drive: dict[str, Any]) -> Recorder:
    """Run each `drive[name](client)` against the app and record the SQL it causes."""
    settings = load_settings(
        issuer=settings_env["SERVICEKONTO_ISSUER"],
        secret_key=settings_env["SERVICEKONTO_SECRET_KEY"],
        database={"url": settings_env["SERVICEKONTO_DATABASE_URL"]},
    )
    # Through SQLAlchemy, where the hook sees them: on the event loop (store/loop.py) the same
    # Core statements, compiled by the same dialect, go to psycopg directly.
    app = create_app(settings, statements_on_loop=False)
    engine: Engine = app.state.database.bind
    recorder = Recorder()
    event.listen(engine, "before_cursor_execute", recorder)
    with TestClient(app, base_url=settings.issuer, follow_redirects=False) as client:
        for name, request in drive.items():
            recorder.current = name
            request(client)
    event.remove(engine, "before_cursor_execute", recorder)
    return recorder


def explain_all(engine: Engine, recorder: Recorder) -> list[dict[str, Any]]:
    plans = []
    for statement, (parameters, endpoints) in recorder.statements.items():
        plans.append(
            {
                "endpoints": endpoints,
                "sql": " ".join(statement.split()),
                "plan": explain(engine, statement, parameters),
            }
        )
    return plans


def explain(engine: Engine, statement: str, parameters: Any) -> list[str]:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # Replaying an INSERT would collide with the row it wrote: its plan is only planned.
        insert = statement.lstrip().upper().startswith("INSERT")
        options = "COSTS OFF" if insert else "ANALYZE, BUFFERS, COSTS OFF"
        cursor.execute(f"EXPLAIN ({options}) " + statement, parameters)
        lines = [str(row[0]) for row in cursor.fetchall()]
    finally:
        raw.rollback()
        raw.close()
    return lines


def render(plans: list[dict[str, Any]]) -> str:
    blocks = []
    for item in plans:
        blocks.append(
            f"-- {', '.join(item['endpoints'])}\n{item['sql']}\n"
            + "\n".join(f"    {line}" for line in item["plan"])
        )
    return "\n\n".join(blocks) + "\n"
