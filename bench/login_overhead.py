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
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from servicekonto.config import Argon2Settings
from servicekonto.demo import DEMO_CITIZEN_EMAIL, DEMO_CITIZEN_PASSWORD
from servicekonto.security.passwords import PasswordHasher

POSTGRES_URL = os.environ.get(
    "SERVICEKONTO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RESULTS = Path(__file__).resolve().parent / "results"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 0.50), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
        "mean_ms": round(statistics.fmean(values), 2),
        "n": len(values),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_schema() -> str | None:
    """A fresh schema for this run, or None when PostgreSQL does not answer."""
    name = f"bench_{os.getpid()}"
    try:
        engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
        engine.dispose()
    except Exception:  # no server: fall back to SQLite
        return None
    return name


def drop_schema(name: str) -> None:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


def server_env(port: int, schema: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICEKONTO_")}
    env.update(
        SERVICEKONTO_ISSUER=f"http://127.0.0.1:{port}",
        SERVICEKONTO_LOG_FORMAT="json",
        # Debug level adds the argon2 time of each login to the log, paired by request id.
        SERVICEKONTO_LOG_LEVEL="debug",
    )
    if schema is not None:
        env["SERVICEKONTO_DATABASE_URL"] = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    return env


@contextmanager
def running_server(workdir: Path, env: dict[str, str], port: int) -> Any:
    command = [sys.executable, "-m", "servicekonto"]
    subprocess.run(
        [*command, "db", "upgrade"], cwd=workdir, env=env, check=True, capture_output=True
    )
    subprocess.run([*command, "demo"], cwd=workdir, env=env, check=True, capture_output=True)
    log_path = workdir / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz")
            yield log_path
        finally:
            process.terminate()
            process.wait(timeout=15)


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready within 30 s")


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
    result = {
        "benchmark": "login_overhead",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
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
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"login_overhead_{database}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
