"""The `servicekonto` command: version, demo, migrations, and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servicekonto.app import render_openapi
from servicekonto.metadata import __version__
from servicekonto.store.schema import head_revision
from tests.cli_helpers import run_cli
from tests.conftest import PostgresSchemaFactory

REPOSITORY = Path(__file__).resolve().parents[1]
UNREACHABLE_POSTGRES = "postgresql+psycopg://sk:topsecret@127.0.0.1:1/servicekonto"


def _single_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("servicekonto: error: ")
    return lines[0]


def test_version(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"servicekonto {__version__}"


def test_demo_on_embedded_default_is_idempotent(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "demo", "--json")
    second = run_cli(tmp_path, "demo", "--json")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    created, again = json.loads(first.stdout), json.loads(second.stdout)
    assert created["created"] == {
        "authorities": 5,
        "citizens": 1,
        "registry_residents": 5200,
        "procedures": 1,
        "safe_documents": 2,
        "staff": 5,
    }
    assert again["created"] == {
        "authorities": 0,
        "citizens": 0,
        "registry_residents": 0,
        "procedures": 0,
        "safe_documents": 0,
        "staff": 0,
    }
    assert created["procedure"]["client_secret"] == again["procedure"]["client_secret"]
    assert [r["family_name"] for r in created["registry_residents"]][:2] == ["Becker", "Hoffmann"]
    assert created["citizen"]["email"] == "erika.mustermann@example.org"
    assert created["citizen"]["password"] == again["citizen"]["password"]
    assert [a["id"] for a in created["authorities"]] == [a["id"] for a in again["authorities"]]
    assert created["urls"]["readiness"] == "http://127.0.0.1:8000/readyz"
    assert (tmp_path / "var" / "servicekonto.sqlite3").is_file()
    blobs = [p for p in (tmp_path / "var" / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 4, "two safe documents and two register extracts, encrypted"
    assert {o["state"] for o in created["organisations"]} == {"verified", "pending"}
    sp = created["saml_provider"]
    assert sp == again["saml_provider"]
    assert (tmp_path / sp["metadata"]).is_file()
    assert (tmp_path / sp["key"]).stat().st_mode & 0o077 == 0, "the demo SP's key is private"


def test_demo_text_says_how_to_use_it(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    assert "Kreisverwaltung Cochem-Zell" in result.stdout
    assert "http://127.0.0.1:8000/readyz" in result.stdout
    assert "erika.mustermann@example.org" in result.stdout


def test_demo_refuses_production(tmp_path: Path, postgres_url: str) -> None:
    result = run_cli(
        tmp_path,
        "demo",
        SERVICEKONTO_ENV="production",
        SERVICEKONTO_ISSUER="https://konto.example.de",
        SERVICEKONTO_DATABASE_URL=postgres_url,
        SERVICEKONTO_SECRET_KEY="x" * 40,
    )
    assert result.returncode == 2
    assert "refuses to run in production" in _single_error_line(result.stderr)


def test_generated_secret_never_reaches_the_output(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "demo", SERVICEKONTO_LOG_LEVEL="debug")
    secret = (tmp_path / "var" / "secret_key").read_text().strip()
    assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {"SERVICEKONTO_DATABASE_URL": "mysql://u@h/db"},
            "SERVICEKONTO_DATABASE_URL: scheme 'mysql'",
        ),
        (
            {"SERVICEKONTO_ISSUER": "konto.example.de"},
            "SERVICEKONTO_ISSUER: must be an http(s) URL",
        ),
        ({"SERVICEKONTO_SERVER_PORT": "eighty"}, "SERVICEKONTO_SERVER_PORT: "),
        ({"SERVICEKONTO_DATABASE_URL": UNREACHABLE_POSTGRES}, "cannot reach the database at"),
    ],
    ids=["wrong-scheme", "bad-issuer", "bad-port", "unreachable-database"],
)
@pytest.mark.parametrize("command", [("db", "upgrade"), ("demo",), ("serve",)])
def test_bad_configuration_is_one_line_and_exit_2(
    tmp_path: Path, variables: dict[str, str], expected: str, command: tuple[str, ...]
) -> None:
    result = run_cli(tmp_path, *command, **variables)
    assert result.returncode == 2
    line = _single_error_line(result.stderr)
    assert expected in line
    assert "topsecret" not in line


def test_production_without_anything_names_every_missing_setting(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "serve", SERVICEKONTO_ENV="production")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert [line.split()[2] for line in lines] == [
        "SERVICEKONTO_ISSUER",
        "SERVICEKONTO_DATABASE_URL",
        "SERVICEKONTO_SECRET_KEY",
    ]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists(), "production never generates a secret"


def test_production_without_secret_only(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path,
        "serve",
        SERVICEKONTO_ENV="production",
        SERVICEKONTO_ISSUER="https://konto.example.de",
        SERVICEKONTO_DATABASE_URL="postgresql+psycopg://sk@db.example.de/sk",
    )
    assert result.returncode == 2
    assert "SERVICEKONTO_SECRET_KEY must be set" in _single_error_line(result.stderr)


@pytest.mark.postgres
def test_postgres_needs_an_explicit_upgrade_then_serves_the_demo(
    tmp_path: Path, postgres_schema_factory: PostgresSchemaFactory
) -> None:
    url = postgres_schema_factory.create().url
    before = run_cli(tmp_path, "demo", SERVICEKONTO_DATABASE_URL=url)
    assert before.returncode == 2
    assert "run `servicekonto db upgrade` first" in _single_error_line(before.stderr)

    upgrade = run_cli(tmp_path, "db", "upgrade", SERVICEKONTO_DATABASE_URL=url)
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"revision {head_revision()}" in upgrade.stdout

    current = run_cli(tmp_path, "db", "current", SERVICEKONTO_DATABASE_URL=url)
    assert f"current: {head_revision()}" in current.stdout

    demo = run_cli(tmp_path, "demo", "--json", SERVICEKONTO_DATABASE_URL=url)
    assert demo.returncode == 0, demo.stderr
    assert json.loads(demo.stdout)["created"]["citizens"] == 1


def test_env_example_command_matches_the_committed_file(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "env-example")
    assert result.stdout == (REPOSITORY / "deploy" / "servicekonto.env.example").read_text()


def test_committed_openapi_description_is_current(tmp_path: Path) -> None:
    committed = (REPOSITORY / "openapi" / "servicekonto.json").read_text(encoding="utf-8")
    assert committed == render_openapi(), "run `make openapi`"
    written = tmp_path / "spec.json"
    assert run_cli(tmp_path, "openapi", "--output", str(written)).returncode == 0
    assert written.read_text(encoding="utf-8") == committed
