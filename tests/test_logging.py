"""Log lines: JSON in production, request ids on every line, no query strings, no locals."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from servicekonto.observability import configure_logging


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    configure_logging("info", "json")
    yield capsys
    logging.getLogger().handlers.clear()


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    err = capsys.readouterr().err
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_request_is_logged_as_json_without_query_string(
    app: FastAPI, json_logs: pytest.CaptureFixture[str]
) -> None:
    with TestClient(app) as client:
        response = client.get("/healthz?code=sk_ac_secretcode&email=someone@example.org")
    requests = [line for line in _lines(json_logs) if line.get("event") == "request"]
    assert len(requests) == 1
    (line,) = requests
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["level"] == "info"
    assert "timestamp" in line
    assert "secretcode" not in json.dumps(line) and "someone@" not in json.dumps(line)


def test_exceptions_are_logged_without_local_variables(
    app: FastAPI, json_logs: pytest.CaptureFixture[str]
) -> None:
    @app.get("/test/explode")
    def explode() -> None:
        password = "hunter2-local"
        raise RuntimeError(f"failed after {len(password)} characters")

    with TestClient(app, raise_server_exceptions=False) as client:
        client.get("/test/explode")
    lines = _lines(json_logs)
    (error,) = [line for line in lines if line.get("event") == "unhandled error"]
    assert error["exception"], "the traceback is in the log"
    assert "hunter2-local" not in json.dumps(lines)


def test_console_format_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "console")
    logging.getLogger("servicekonto.test").info("hello %s", "operator")
    logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "hello operator" in err
    assert not err.lstrip().startswith("{")
