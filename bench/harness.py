"""What the benchmarks against a real server share: a fresh PostgreSQL schema, the migrated and
seeded database, a server process and its readiness, percentiles and the machine description.

The benchmarks run as scripts (`python bench/NAME.py`), so this module is imported by its plain
name from the bench directory, which Python puts first on the path.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get(
    "SERVICEKONTO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BENCH_DIR = Path(__file__).resolve().parent
REPOSITORY = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
SERVICEKONTO = [sys.executable, "-m", "servicekonto"]
READY_SECONDS = 30


# --- figures ---------------------------------------------------------------------------------


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


def machine(commit: str | None = None) -> dict[str, Any]:
    """Enough about the machine and the code to compare two result files honestly."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "git_commit": commit or _git_commit(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor()


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    # Results from a tree with uncommitted changes are not the commit's: say so.
    return done.stdout.strip() + ("+dirty" if dirty else "")


def snapshot_of_head(destination: Path) -> str:
    """The committed package and migrations, exported to `destination`; the commit's id.

    A benchmark runs for many minutes on a working tree someone else may be editing; the server
    under measurement must not change half-way (Jinja reloads edited templates, new processes
    import edited modules). Measuring a commit also says exactly what was measured.
    """
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"],  # noqa: S607
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "archive", commit, "src/servicekonto", "migrations"],  # noqa: S607
        cwd=REPOSITORY,
        capture_output=True,
        check=True,
    ).stdout
    destination.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive, check=True)  # noqa: S607
    return commit


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


# --- database --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_schema(prefix: str = "bench") -> str | None:
    """A fresh schema for this run, or None when PostgreSQL does not answer."""
    name = f"{prefix}_{os.getpid()}"
    try:
        engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
        engine.dispose()
    except Exception:  # no server: the caller decides what that means
        return None
    return name


def drop_schema(name: str) -> None:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


def schema_url(schema: str) -> str:
    """The database URL whose connections work in the schema (search_path per connection)."""
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any SERVICEKONTO_ setting of the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICEKONTO_")}
    env.update(settings)
    return env


# --- the server ------------------------------------------------------------------------------


def servicekonto(workdir: Path, env: dict[str, str], *args: str) -> str:
    """Run one `servicekonto` command; its stdout, or exit with its stderr on failure."""
    done = subprocess.run(
        [*SERVICEKONTO, *args], cwd=workdir, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"servicekonto {' '.join(args)} failed:\n{done.stderr.strip()}")
    return done.stdout


def migrate_and_seed(workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    """`db upgrade` and `demo`; returns what the demo created (its --json report)."""
    servicekonto(workdir, env, "db", "upgrade")
    report: dict[str, Any] = json.loads(servicekonto(workdir, env, "demo", "--json"))
    return report


@contextmanager
def server_process(
    command: list[str], workdir: Path, env: dict[str, str], port: int, log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A server started by `command`, ready on `port`, stopped (and waited for) on exit."""
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=log)
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", process, log_path)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_ready(url: str, process: subprocess.Popen[bytes] | None, log_path: Path | None) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not become ready within {READY_SECONDS} s")


def _tail(log_path: Path | None, lines: int = 20) -> str:
    if log_path is None or not log_path.exists():
        return ""
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
