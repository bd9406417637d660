"""How much of a login is argon2, and how much is everything else.

Starts the real server (uvicorn, one worker) on PostgreSQL when it answers, else on SQLite,
seeds the demo citizen, then logs in sequentially (concurrency 1, so queueing does not blur
the figure) and reads the server-side duration of every request from the server's own JSON
request log. The same argon2id parameters are timed in this process. The target of the
accounts issue: the p50 of (server-side login time - one argon2 verification) stays under 10 ms.

A bare endpoint (`/healthz`) is measured the same way in the same run, as the floor.

    .venv/bin/python bench/login_overhead.py [--logins 200] [--sqlite]

Results are printed and written as JSON under bench/results/. Nothing here is a pass/fail test:
these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from harness import (
    SERVICEKONTO,
    clean_env,
    drop_schema,
    free_port,
    machine,
    migrate_and_seed,
    postgres_schema,
    schema_url,
    server_process,
    summary,
    write_result,
)

from servicekonto.config import Argon2Settings
from servicekonto.demo import DEMO_CITIZEN_EMAIL, DEMO_CITIZEN_PASSWORD
from servicekonto.security.passwords import PasswordHasher

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def server_env(port: int, schema: str | None) -> dict[str, str]:
    env = clean_env(
        SERVICEKONTO_ISSUER=f"http://127.0.0.1:{port}",
        SERVICEKONTO_LOG_FORMAT="json",
        # Debug level adds the argon2 time of each login to the log, paired by request id.
        SERVICEKONTO_LOG_LEVEL="debug",
    )
    if schema is not None:
        env["SERVICEKONTO_DATABASE_URL"] = schema_url(schema)
    return env


@contextmanager
def running_server(workdir: Path, env: dict[str, str], port: int) -> Iterator[Path]:
    migrate_and_seed(workdir, env)
    log_path = workdir / "server.log"
    command = [*SERVICEKONTO, "serve", "--host", "127.0.0.1", "--port", str(port)]
    with server_process(command, workdir, env, port, log_path):
        yield log_path


def drive(base: str, logins: int) -> dict[str, list[float]]:
    """Client-side latencies of sequential requests; the server's own figures come from its log."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=10)
    token = CSRF.search(client.get("/login").text)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    form = {
        "csrf_token": token.group(1),
        "email": DEMO_CITIZEN_EMAIL,
        "password": DEMO_CITIZEN_PASSWORD,
        "next": "/account",
    }
    timings: dict[str, list[float]] = {"login": [], "healthz": []}
    for _ in range(logins):
        started = time.perf_counter()
        response = client.post("/login", data=form)
        timings["login"].append((time.perf_counter() - started) * 1000)
        if response.status_code != 303:
            raise SystemExit(f"login failed with {response.status_code}")
        client.cookies.delete("sk_session")
        started = time.perf_counter()
        client.get("/healthz")
        timings["healthz"].append((time.perf_counter() - started) * 1000)
    client.close()
    return timings


def server_durations(log_path: Path) -> dict[str, list[float]]:
    """Server-side durations by endpoint, and each login's duration minus its own argon2 time."""
    durations: dict[str, list[float]] = {"login": [], "healthz": [], "overhead": []}
    argon2_by_request: dict[str, float] = {}
    for line in log_path.read_text().splitlines():
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("event") == "password checked":
            argon2_by_request[event["request_id"]] = float(event["argon2_ms"])
        if event.get("event") != "request":
            continue
        if event["method"] == "POST" and event["path"] == "/login":
            durations["login"].append(float(event["duration_ms"]))
            argon2 = argon2_by_request.get(event["request_id"])
            if argon2 is not None:
                durations["overhead"].append(float(event["duration_ms"]) - argon2)
        elif event["path"] == "/healthz":
            durations["healthz"].append(float(event["duration_ms"]))
    return durations


def argon2_timings(samples: int) -> list[float]:
    hasher = PasswordHasher(Argon2Settings())
    stored = hasher.hash(DEMO_CITIZEN_PASSWORD)
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        hasher.verify(stored, DEMO_CITIZEN_PASSWORD)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument(
        "--sqlite", action="store_true", help="use SQLite even if PostgreSQL answers"
    )
    args = parser.parse_args()
    schema = None if args.sqlite else postgres_schema()
    port = free_port()
    try:
        with (
            tempfile.TemporaryDirectory() as scratch,
            running_server(Path(scratch), server_env(port, schema), port) as log_path,
        ):
            client = drive(f"http://127.0.0.1:{port}", args.logins)
            time.sleep(0.5)  # let the last log lines reach the file
            server = server_durations(log_path)
    finally:
        if schema is not None:
            drop_schema(schema)
    argon2 = argon2_timings(max(20, args.logins // 4))
    report(args.logins, "postgresql" if schema else "sqlite", client, server, argon2)


def report(
    logins: int,
    database: str,
    client: dict[str, list[float]],
    server: dict[str, list[float]],
    argon2: list[float],
) -> None:
    when = machine()
    result = {
        "benchmark": "login_overhead",
        "when": when["when"],
        "machine": {k: v for k, v in when.items() if k != "when"},
        "database": database,
        "logins": logins,
        "argon2_verify_in_bench_process": summary(argon2),
        "login_server_side": summary(server["login"]),
        "login_client_side": summary(client["login"]),
        "login_minus_its_argon2_server_side": summary(server["overhead"]),
        "healthz_server_side": summary(server["healthz"]),
        "healthz_client_side": summary(client["healthz"]),
        "target": "p50 of login minus one argon2 verification under 10 ms",
    }
    write_result(f"login_overhead_{database}.json", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
