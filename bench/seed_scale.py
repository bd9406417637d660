"""Do the token endpoints slow down when the tables hold a district's worth of rows?

Runs the HTTP suite's token, introspection and userinfo measurements (one worker) twice: on a
schema with only the demo data, and on one where COPY has loaded a million persons, a million
access tokens, a million refresh tokens and a million authorization codes (bench/scale_data.py).
Then records the SQL those endpoints send and PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of each
statement on the large schema (bench/explain.py).

    .venv/bin/python bench/seed_scale.py [--rows 1000000] [any option of http_suite.py]

Results: bench/results/seed_scale.json (both sizes side by side, table sizes, load times) and
bench/results/seed_scale_explain.txt (the plans).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import explain
import scale_data
from credentials import FORM_CONTENT_TYPE, Credentials
from harness import RESULTS, drop_schema, machine, postgres_schema
from http_suite import measure, parse_options
from sqlalchemy import create_engine, text
from stage import SNAPSHOT, SNAPSHOT_COMMIT, Stage, build_stage, run_on_snapshot
from wrkrun import require_wrk

DEFAULT_ENDPOINTS = (
    "token_client_credentials,token_code_exchange,token_refresh,introspection,userinfo"
)
TABLES = ("persons", "issued_tokens", "refresh_tokens", "authorization_codes")
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def main() -> int:
    if SNAPSHOT not in os.environ and "--working-tree" not in sys.argv:
        return run_on_snapshot()  # the last commit, as the HTTP suite measures it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per loaded table")
    ours, theirs = parser.parse_known_args()
    options = parse_options(
        ["--workers", "1", "--concurrency", "1,32", "--endpoints", DEFAULT_ENDPOINTS, *theirs]
    )
    require_wrk()
    sizes = {"demo data only": 0, f"{ours.rows:,} rows per table": ours.rows}
    results = {name: _one_size(options, rows) for name, rows in sizes.items()}
    return _conclude(results)


def _one_size(options: Any, rows: int) -> dict[str, Any]:
    schema = postgres_schema("bench_scale")
    if schema is None:
        raise SystemExit("PostgreSQL does not answer; the scale benchmark needs it")
    try:
        with tempfile.TemporaryDirectory() as scratch:
            stage = build_stage(Path(scratch), schema)
            load_seconds = _load(stage, rows) if rows else {}
            measured = measure(options, stage, 1)
            plans = _plans(stage) if rows else []
            sizes = _table_sizes(stage)
    finally:
        drop_schema(schema)
    return {"measured": measured, "load_seconds": load_seconds, "plans": plans, "sizes": sizes}


def _load(stage: Stage, rows: int) -> dict[str, float]:
    owner = scale_data.Owner(stage.seeded.procedure.client_id, stage.seeded.redirect_uri)
    url = stage.env["SERVICEKONTO_DATABASE_URL"]
    return scale_data.load(url, owner, dict.fromkeys(TABLES, rows))


def _table_sizes(stage: Stage) -> dict[str, dict[str, Any]]:
    engine = create_engine(stage.env["SERVICEKONTO_DATABASE_URL"])
    sizes = {}
    with engine.connect() as connection:
        for table in TABLES:
            count = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            total = connection.execute(
                text("SELECT pg_total_relation_size(:t)"), {"t": table}
            ).scalar_one()
            sizes[table] = {"rows": count, "mib_with_indexes": round(total / 2**20, 1)}
    engine.dispose()
    return sizes


# --- the SQL of the hot endpoints ------------------------------------------------------------


def _plans(stage: Stage) -> list[dict[str, Any]]:
    credentials = Credentials(
        stage.base_url,
        stage.env["SERVICEKONTO_DATABASE_URL"],
        stage.env["SERVICEKONTO_SECRET_KEY"],
        stage.seeded,
    )
    try:
        recorder = explain.capture(stage.env, _requests(credentials))
    finally:
        credentials.close()
    engine = create_engine(stage.env["SERVICEKONTO_DATABASE_URL"])
    try:
        return explain.explain_all(engine, recorder)
    finally:
        engine.dispose()


def _requests(credentials: Credentials) -> dict[str, Callable[[Any], None]]:
    """One request of each hot endpoint, as the suite sends them; each must succeed."""
    seeded = credentials.seeded
    procedure = {"authorization": seeded.procedure.basic_authorization(), **FORM_CONTENT_TYPE}
    service = {"authorization": seeded.service.basic_authorization(), **FORM_CONTENT_TYPE}
    held: dict[str, str] = {}

    def code_exchange(client: Any) -> None:
        body = credentials.code_bodies(1)[0]
        answer = _ok(client.post("/oidc/token", content=body, headers=procedure), 200)
        held["access_token"] = answer.json()["access_token"]

    def refresh(client: Any) -> None:
        body = credentials.refresh_bodies(1)[0]
        _ok(client.post("/oidc/token", content=body, headers=procedure), 200)

    def client_credentials(client: Any) -> None:
        body = "grant_type=client_credentials&scope=safe.deposit"
        _ok(client.post("/oidc/token", content=body, headers=service), 200)

    def introspection(client: Any) -> None:
        body = f"token={held['access_token']}"
        _ok(client.post("/oidc/introspect", content=body, headers=procedure), 200)

    def userinfo(client: Any) -> None:
        bearer = {"authorization": f"Bearer {held['access_token']}"}
        _ok(client.get("/oidc/userinfo", headers=bearer), 200)

    def login(client: Any) -> None:
        page = client.get("/login")
        token = CSRF_FIELD.search(page.text)
        form = credentials.login_form_fields(token.group(1) if token else "")
        _ok(client.post("/login", data=form), 303)

    return {
        "token_code_exchange": code_exchange,
        "token_refresh": refresh,
        "token_client_credentials": client_credentials,
        "introspection": introspection,
        "userinfo": userinfo,
        "login": login,
    }


def _ok(response: Any, status: int) -> Any:
    if response.status_code != status:
        raise SystemExit(f"{response.request.url} answered {response.status_code}: {response.text}")
    return response


# --- the report ------------------------------------------------------------------------------


def _conclude(results: dict[str, dict[str, Any]]) -> int:
    names = list(results)
    summaries = {
        name: result["measured"].as_json()["endpoints"] for name, result in results.items()
    }
    print(_side_by_side(names, summaries))
    plans: list[dict[str, Any]] = next((r["plans"] for r in results.values() if r["plans"]), [])
    (RESULTS / "seed_scale_explain.txt").write_text(explain.render(plans))
    document = {
        "benchmark": "seed_scale",
        "machine": machine(os.environ.get(SNAPSHOT_COMMIT)),
        "sizes": {name: result["sizes"] for name, result in results.items()},
        "load_seconds": {name: result["load_seconds"] for name, result in results.items()},
        "one_worker": summaries,
        "plans": "bench/results/seed_scale_explain.txt",
    }
    path = RESULTS / "seed_scale.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"written to {path} and {RESULTS / 'seed_scale_explain.txt'}")
    failures = [line for r in results.values() for line in r["measured"].failures()]
    for line in failures:
        print(f"FAILED: {line}", file=sys.stderr)
    return 1 if failures else 0


def _side_by_side(names: list[str], summaries: dict[str, dict[str, Any]]) -> str:
    first, second = names
    lines = [f"{'endpoint':<26}{'c':>4}  {first:>24}  {second:>24}   (req/s, p50 ms, p99 ms)"]
    for endpoint, entry in summaries[first].items():
        for c, cell in entry["by_concurrency"].items():
            other = summaries[second].get(endpoint, {}).get("by_concurrency", {}).get(c)
            lines.append(f"{endpoint:<26}{c:>4}  {_cell(cell):>24}  {_cell(other):>24}")
    return "\n".join(lines)


def _cell(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "-"
    return f"{cell['requests_per_s']:.0f} / {cell['p50_ms']:.1f} / {cell['p99_ms']:.1f}"


if __name__ == "__main__":
    sys.exit(main())
