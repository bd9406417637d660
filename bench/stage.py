"""The server under measurement: its data, its environment, its processes.

`build_stage` migrates and seeds a fresh schema once (demo data plus a procedure for
client_credentials); `serving` starts the bench app on it with a number of workers and stops it.
`run_on_snapshot` runs a benchmark script again on the last commit's package, exported with
`git archive`, so edits to the working tree during a long run cannot change what is measured.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credentials import Client, Seeded
from harness import (
    BENCH_DIR,
    POSTGRES_URL,
    clean_env,
    free_port,
    migrate_and_seed,
    schema_url,
    server_process,
    servicekonto,
    snapshot_of_head,
)
from procstat import worker_pids
from sqlalchemy import create_engine, text

SERVICE_CLIENT_ID = "vg-cochem.bench-dienst"
SERVICE_REDIRECT_URI = "http://127.0.0.1:8765/bench"
WORKERS_UP_SECONDS = 30
# Set in the child process that measures a snapshot of the last commit.
SNAPSHOT = "BENCH_SNAPSHOT"
SNAPSHOT_COMMIT = "BENCH_SNAPSHOT_COMMIT"


@dataclass(frozen=True)
class Stage:
    """A migrated, seeded schema and the environment every server process of the suite gets."""

    workdir: Path
    env: dict[str, str]
    port: int
    application_name: str
    seeded: Seeded

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def build_stage(workdir: Path, schema: str) -> Stage:
    port = free_port()
    application_name = f"servicekonto_bench_{port}"
    secret_key = secrets.token_urlsafe(48)
    env = clean_env(
        SERVICEKONTO_ENV="development",
        SERVICEKONTO_ISSUER=f"http://127.0.0.1:{port}",
        SERVICEKONTO_SECRET_KEY=secret_key,
        # The application name tells this server's database backends from everyone else's.
        SERVICEKONTO_DATABASE_URL=f"{schema_url(schema)}&application_name={application_name}",
        SERVICEKONTO_LOG_FORMAT="json",
        SERVICEKONTO_LOG_LEVEL="info",
        # The snapshot's package (when measuring one) before the editable install's.
        PYTHONPATH=os.pathsep.join([*_snapshot_path(), str(BENCH_DIR)]),
    )
    demo = migrate_and_seed(workdir, env)
    service = _add_service_client(workdir, env)
    seeded = Seeded(
        person_id=uuid.UUID(demo["citizen"]["id"]),
        procedure=Client(demo["procedure"]["client_id"], demo["procedure"]["client_secret"]),
        redirect_uri=demo["procedure"]["redirect_uri"],
        service=service,
    )
    return Stage(workdir, env, port, application_name, seeded)


def _add_service_client(workdir: Path, env: dict[str, str]) -> Client:
    """A procedure that calls services in its own name: client_credentials, a service scope."""
    added = servicekonto(
        workdir,
        env,
        *("clients", "add", "--client-id", SERVICE_CLIENT_ID, "--name", "Benchmark-Dienst"),
        *("--authority", "vg-cochem", "--redirect-uri", SERVICE_REDIRECT_URI),
        *("--grant-type", "client_credentials", "--scope", "safe.deposit", "--json"),
    )
    return Client(SERVICE_CLIENT_ID, json.loads(added)["client_secret"])


@contextmanager
def serving(stage: Stage, workers: int) -> Iterator[list[int]]:
    """The server with `workers` workers, ready; yields the worker processes' ids."""
    command = [
        sys.executable,
        str(BENCH_DIR / "benchapp.py"),
        *("--port", str(stage.port), "--workers", str(workers)),
    ]
    log_path = stage.workdir / f"server-{workers}.log"
    with server_process(command, stage.workdir, stage.env, stage.port, log_path) as process:
        pids = _wait_for_workers(process.pid, workers)
        yield pids
        if process.poll() is not None or worker_pids(process.pid) != pids:
            raise SystemExit(f"a server process ended during the runs; see {log_path}")


def _wait_for_workers(server_pid: int, workers: int) -> list[int]:
    deadline = time.monotonic() + WORKERS_UP_SECONDS
    while time.monotonic() < deadline:
        pids = worker_pids(server_pid)
        if len(pids) == workers:
            return pids
        time.sleep(0.2)
    raise SystemExit(f"{workers} workers did not start within {WORKERS_UP_SECONDS} s")


def database_backends(application_name: str) -> Any:
    engine = create_engine(POSTGRES_URL)

    def look_up() -> list[int]:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": application_name},
            )
            return [int(row.pid) for row in rows]

    return look_up


# --- the code measured -------------------------------------------------------------------------


def run_on_snapshot() -> int:
    """Run this script again, in a child process that imports the last commit's package."""
    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as snapshot:
        commit = snapshot_of_head(Path(snapshot))
        env = {**os.environ, SNAPSHOT: snapshot, SNAPSHOT_COMMIT: commit}
        env["PYTHONPATH"] = os.pathsep.join([str(Path(snapshot) / "src"), str(BENCH_DIR)])
        print(f"measuring commit {commit} (a snapshot; --working-tree measures the tree)")
        child = subprocess.Popen([sys.executable, *sys.argv], env=env)
        # A SIGTERM to this process reaches the child, which stops its server and cleans up.
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        return child.wait()


def _snapshot_path() -> list[str]:
    snapshot = os.environ.get(SNAPSHOT)
    return [str(Path(snapshot) / "src")] if snapshot else []
