"""Settings: safe embedded defaults, flat variable names, production refusals, generated secret."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from servicekonto.config import (
    SECRET_KEY_FILE_NAME,
    Settings,
    load_settings,
    render_env_example,
    render_settings_table,
    with_secret_key,
)
from servicekonto.errors import ConfigurationError

REPOSITORY = Path(__file__).resolve().parents[1]
STRONG_SECRET = "x" * 48
PRODUCTION_POSTGRES = "postgresql+psycopg://sk:pw@db.internal:5432/servicekonto"


def test_embedded_default_is_sqlite_under_var_and_local_issuer(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path / "var")
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'servicekonto.sqlite3'}"
    assert settings.uses_embedded_database
    assert settings.issuer == "http://127.0.0.1:8000"
    assert settings.env == "development"
    assert settings.log_format == "console"


def test_nested_groups_read_flat_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICEKONTO_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("SERVICEKONTO_DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("SERVICEKONTO_SERVER_PORT", "9001")
    monkeypatch.setenv("SERVICEKONTO_LOG_FORMAT", "json")
    monkeypatch.setenv("SERVICEKONTO_ISSUER", "https://konto.example.de/")
    settings = load_settings()
    assert settings.database.url == "postgresql+psycopg://u@h/db"
    assert settings.database.pool_size == 3
    assert settings.server.port == 9001
    assert settings.log_format == "json"
    assert settings.issuer == "https://konto.example.de"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("POSTGRESQL+PSYCOPG://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////srv/data/sk.sqlite3", "sqlite:////srv/data/sk.sqlite3"),
    ],
)
def test_database_url_spellings_are_normalised(given: str, expected: str) -> None:
    assert load_settings(database={"url": given}).database_url == expected


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://u@h/db", "scheme 'mysql' is not supported"),
        ("not a url", "is not a URL"),
        ("sqlite://", "SQLite needs a file"),
    ],
)
def test_unsupported_database_url_is_one_line_naming_the_variable(url: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(database={"url": url})
    assert len(raised.value.problems) == 1
    (line,) = raised.value.problems
    assert line.startswith("SERVICEKONTO_DATABASE_URL: ")
    assert fragment in line


@pytest.mark.parametrize("issuer", ["ftp://x", "konto.example.de", "https://x.de/?a=b", "https://"])
def test_issuer_must_be_a_plain_http_url(issuer: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(issuer=issuer)
    assert raised.value.problems[0].startswith("SERVICEKONTO_ISSUER: ")


def _production(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "env": "production",
        "issuer": "https://konto.example.de",
        "database": {"url": PRODUCTION_POSTGRES},
        "secret_key": STRONG_SECRET,
    }
    values.update(overrides)
    return values


def test_production_accepts_safe_settings() -> None:
    settings = load_settings(**_production())
    assert settings.log_format == "json"
    assert settings.secret_key is not None


@pytest.mark.parametrize(
    ("unsafe", "variable"),
    [
        ({"issuer": "http://konto.example.de"}, "SERVICEKONTO_ISSUER"),
        ({"database": {"url": None}}, "SERVICEKONTO_DATABASE_URL"),
        ({"database": {"url": "sqlite:////srv/sk.sqlite3"}}, "SERVICEKONTO_DATABASE_URL"),
        ({"secret_key": None}, "SERVICEKONTO_SECRET_KEY"),
        ({"database": {"url": PRODUCTION_POSTGRES, "echo": True}}, "SERVICEKONTO_DATABASE_ECHO"),
    ],
)
def test_production_refuses_each_unsafe_value_with_one_line(
    unsafe: dict[str, object], variable: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(**_production(**unsafe))
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith(variable)


def test_production_lists_every_problem_on_its_own_line() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(env="production")
    assert [line.split()[0] for line in raised.value.problems] == [
        "SERVICEKONTO_ISSUER",
        "SERVICEKONTO_DATABASE_URL",
        "SERVICEKONTO_SECRET_KEY",
    ]


def test_short_secret_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings(secret_key="short-but-secret")
    message = str(raised.value)
    assert message.startswith("SERVICEKONTO_SECRET_KEY: must be at least 32 characters")
    assert "short-but-secret" not in message


def test_development_secret_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path / "var")
    first = with_secret_key(settings)
    second = with_secret_key(load_settings(var_dir=tmp_path / "var"))
    path = tmp_path / "var" / SECRET_KEY_FILE_NAME
    assert first.secret_key is not None and second.secret_key is not None
    assert first.secret_key.get_secret_value() == second.secret_key.get_secret_value()
    assert len(first.secret_key.get_secret_value()) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert first.secret_key.get_secret_value() not in repr(first)


def test_loosened_secret_file_is_tightened_again(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path)
    with_secret_key(settings)
    path = tmp_path / SECRET_KEY_FILE_NAME
    path.chmod(0o644)
    with_secret_key(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_unusable_secret_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / SECRET_KEY_FILE_NAME).write_text("too short")
    with pytest.raises(ConfigurationError, match="holds no usable secret key"):
        with_secret_key(load_settings(var_dir=tmp_path))


def test_configured_secret_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    settings = with_secret_key(load_settings(var_dir=tmp_path / "var", secret_key=STRONG_SECRET))
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == STRONG_SECRET
    assert not (tmp_path / "var").exists()


def test_every_setting_has_a_description() -> None:
    table = render_settings_table()
    for line in table.splitlines()[2:]:
        assert not line.endswith("|  |"), line
    assert "SERVICEKONTO_DATABASE_URL" in table


def test_example_env_file_is_current() -> None:
    committed = (REPOSITORY / "deploy" / "servicekonto.env.example").read_text(encoding="utf-8")
    assert committed == render_env_example(), "run `make settings-docs`"


def test_readme_configuration_table_is_current() -> None:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    assert render_settings_table() in readme, "run `make settings-docs`"


def test_settings_are_not_read_at_import_time() -> None:
    # Building twice with different inputs gives different settings: nothing is cached globally.
    assert (
        Settings(issuer="https://a.example").issuer != Settings(issuer="https://b.example").issuer
    )
