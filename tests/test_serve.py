"""`servicekonto serve` as a real uvicorn server process: ready on a fresh directory, on
PostgreSQL in production mode, and with several workers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from servicekonto.store.schema import head_revision
from tests.cli_helpers import COMMAND, clean_env, free_port, run_cli, stop, wait_until_ready
from tests.conftest import TEST_SECRET_KEY, PostgresSchemaFactory

pytestmark = pytest.mark.slow


def _serve(cwd: Path, *args: str, **variables: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [*COMMAND, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
        cwd=cwd,
        env=clean_env(**variables),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, f"http://127.0.0.1:{port}"


def test_fresh_directory_migrates_itself_and_is_ready(tmp_path: Path) -> None:
    process, base = _serve(tmp_path)
    try:
        ready = wait_until_ready(f"{base}/readyz", process)
        assert ready.json() == {"status": "ready", "schema_revision": head_revision()}
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        assert "server" not in httpx.get(f"{base}/healthz").headers
    finally:
        _, stderr = stop(process)
    assert "request" in stderr and "path=/readyz" in stderr
    assert (tmp_path / "var" / "servicekonto.sqlite3").is_file()


def test_two_workers_serve_the_same_database(tmp_path: Path) -> None:
    process, base = _serve(tmp_path, "--workers", "2")
    try:
        wait_until_ready(f"{base}/readyz", process, seconds=45)
        statuses = {httpx.get(f"{base}/readyz").status_code for _ in range(20)}
        assert statuses == {200}
    finally:
        stop(process)


@pytest.mark.postgres
def test_production_on_postgres_logs_json_and_is_ready(
    tmp_path: Path, postgres_schema_factory: PostgresSchemaFactory
) -> None:
    url = postgres_schema_factory.create().url
    production = {
        "SERVICEKONTO_ENV": "production",
        "SERVICEKONTO_ISSUER": "https://konto.example.de",
        "SERVICEKONTO_DATABASE_URL": url,
        "SERVICEKONTO_SECRET_KEY": TEST_SECRET_KEY,
    }
    assert run_cli(tmp_path, "db", "upgrade", **production).returncode == 0
    process, base = _serve(tmp_path, **production)
    try:
        wait_until_ready(f"{base}/readyz", process)
        problem = httpx.get(f"{base}/missing?token=sk_rt_leak")
        assert problem.json()["type"] == "about:blank"
    finally:
        _, stderr = stop(process)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert {line["path"] for line in requests} >= {"/readyz", "/missing"}
    assert all("request_id" in line for line in requests)
    assert "sk_rt_leak" not in stderr
    assert TEST_SECRET_KEY not in stderr
    assert not (tmp_path / "var").exists(), "production writes nothing under var/"
