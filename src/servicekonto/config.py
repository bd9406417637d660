"""Settings, read from `SERVICEKONTO_*` environment variables and built explicitly.

Nothing here runs at import time: `load_settings()` is called by the CLI and by the app factory.
Groups of settings are nested models whose variables stay flat (`SERVICEKONTO_DATABASE_URL` is
`database.url`), because operators and the design contract name them that way.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekonto.errors import ConfigurationError

ENV_PREFIX = "SERVICEKONTO_"
MIN_SECRET_KEY_LENGTH = 32
SQLITE_FILE_NAME = "servicekonto.sqlite3"
POSTGRES_DRIVER_SCHEME = "postgresql+psycopg"
# People write PostgreSQL URLs in several spellings; all of them mean our one driver.
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}
SECRET_KEY_HINT = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"  # noqa: S105


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database: postgresql+psycopg://user:password@host:5432/name "
            "in production; empty means an SQLite file under the var directory."
        ),
    )
    pool_size: int = Field(
        default=10, ge=1, le=200, description="Connections kept open per process (PostgreSQL)."
    )
    max_overflow: int = Field(
        default=10,
        ge=0,
        le=200,
        description="Extra connections a process may open under load (PostgreSQL).",
    )
    connect_timeout: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Seconds to wait for a database connection before giving up.",
    )
    echo: bool = Field(
        default=False,
        description="Log every SQL statement (development only; logs may then hold personal data).",
    )

    @field_validator("url")
    @classmethod
    def _supported_scheme(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return normalise_database_url(value.strip())


class ServerSettings(BaseModel):
    host: str = Field(default="127.0.0.1", description="Address `servicekonto serve` listens on.")
    port: int = Field(
        default=8000, ge=1, le=65535, description="TCP port `servicekonto serve` listens on."
    )
    workers: int = Field(
        default=1, ge=1, le=64, description="Worker processes `servicekonto serve` starts."
    )


class LogSettings(BaseModel):
    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level that is logged."
    )
    format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description="Log format: auto means JSON in production and readable lines in development.",
    )


class Settings(BaseSettings):
    """Every setting of the service.

    The field descriptions become the example env file and the README table.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
        validate_default=True,
    )

    env: Literal["development", "production"] = Field(
        default="development",
        description=(
            "development: safe embedded defaults; "
            "production: refuses http, SQLite and missing secrets."
        ),
    )
    issuer: str = Field(
        default="http://127.0.0.1:8000",
        description=(
            "Public base URL of this service, as procedures and browsers reach it "
            "(https in production)."
        ),
    )
    var_dir: Path = Field(
        default=Path("var"),
        description="Directory for the embedded database, generated secrets, mail, letters, blobs.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            f"Root secret (at least {MIN_SECRET_KEY_LENGTH} characters) from which keyed hashes "
            "and encryption keys are derived; generated under the var directory in development, "
            "required in production."
        ),
    )
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings, description="Database connection."
    )
    server: ServerSettings = Field(default_factory=ServerSettings, description="HTTP server.")
    log: LogSettings = Field(default_factory=LogSettings, description="Logging.")

    @field_validator("issuer")
    @classmethod
    def _issuer_is_base_url(cls, value: str) -> str:
        return normalise_issuer(value)

    @field_validator("secret_key")
    @classmethod
    def _secret_key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise PydanticCustomError(
                "secret_too_short",
                "must be at least {length} characters long; generate one with: {hint}",
                {"length": MIN_SECRET_KEY_LENGTH, "hint": SECRET_KEY_HINT},
            )
        return value

    @model_validator(mode="after")
    def _safe_in_production(self) -> Settings:
        problems = production_problems(self) if self.env == "production" else []
        if problems:
            raise PydanticCustomError(
                "unsafe_production_settings", "{problems}", {"problems": "\n".join(problems)}
            )
        return self

    @property
    def database_url(self) -> str:
        """The database URL in effect: the configured one or the embedded SQLite file."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.var_dir.resolve() / SQLITE_FILE_NAME}"

    @property
    def uses_embedded_database(self) -> bool:
        return self.database.url is None

    @property
    def log_format(self) -> Literal["json", "console"]:
        if self.log.format != "auto":
            return self.log.format
        return "json" if self.env == "production" else "console"


def production_problems(settings: Settings) -> list[str]:
    """One line per unsafe setting, each naming the variable to set."""
    problems = []
    if not settings.issuer.startswith("https://"):
        problems.append(
            f"{ENV_PREFIX}ISSUER must be an https URL in production (it is {settings.issuer})"
        )
    if not settings.database_url.startswith(POSTGRES_DRIVER_SCHEME):
        problems.append(
            f"{ENV_PREFIX}DATABASE_URL must name a PostgreSQL database in production "
            f"({POSTGRES_DRIVER_SCHEME}://user:password@host:5432/servicekonto)"
        )
    if settings.database.echo:
        problems.append(
            f"{ENV_PREFIX}DATABASE_ECHO must be false in production: "
            "logged SQL parameters hold personal data"
        )
    if settings.secret_key is None:
        problems.append(
            f"{ENV_PREFIX}SECRET_KEY must be set in production; "
            f"generate one with: {SECRET_KEY_HINT}"
        )
    return problems


def normalise_database_url(url: str) -> str:
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise PydanticCustomError(
            "database_url",
            "is not a URL; use sqlite:///path/to/file or postgresql+psycopg://user@host/db",
        )
    scheme = scheme.lower()
    if scheme in _POSTGRES_SCHEMES:
        return f"{POSTGRES_DRIVER_SCHEME}://{rest}"
    if scheme in {"sqlite", "sqlite+pysqlite"}:
        if not rest.startswith("/") or rest == "/":
            raise PydanticCustomError("database_url", "SQLite needs a file: sqlite:///path/to/file")
        return f"sqlite://{rest}"
    raise PydanticCustomError(
        "database_url",
        "scheme '{scheme}' is not supported; use sqlite:///path/to/file or postgresql+psycopg://user@host/db",
        {"scheme": scheme},
    )


def normalise_issuer(value: str) -> str:
    """The issuer is a base URL: http(s), a host, no query or fragment, no trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise PydanticCustomError(
            "issuer", "must be an http(s) URL such as https://servicekonto.example.de"
        )
    if parts.query or parts.fragment:
        raise PydanticCustomError("issuer", "must not have a query or fragment")
    return value.strip().rstrip("/")


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and explicit overrides), or say plainly what is wrong."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigurationError(*describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> list[str]:
    """Turn pydantic's report into one line per problem, named by environment variable."""
    lines: list[str] = []
    for item in error.errors(include_url=False, include_input=False):
        message = str(item["msg"])
        if not item["loc"]:
            lines.extend(message.splitlines())
            continue
        variable = ENV_PREFIX + "_".join(str(part) for part in item["loc"]).upper()
        lines.append(f"{variable}: {message}")
    return lines


def environment_variables() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting, in declaration order."""
    rows: list[tuple[str, str, str]] = []
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub_name, sub_field in annotation.model_fields.items():
                variable = f"{ENV_PREFIX}{name}_{sub_name}".upper()
                rows.append(
                    (variable, _default_text(sub_field.default), sub_field.description or "")
                )
            continue
        rows.append(
            (f"{ENV_PREFIX}{name}".upper(), _default_text(field.default), field.description or "")
        )
    return rows


def _default_text(default: Any) -> str:
    if default is None:
        return ""
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


SECRET_KEY_FILE_NAME = "secret_key"  # noqa: S105 - a file name, not a secret


def with_secret_key(settings: Settings) -> Settings:
    """Settings with a secret key: the configured one, or in development one kept under var/.

    The generated key is written once with mode 0600 (created exclusively, so two processes
    starting together agree on one key) and is never logged.
    """
    if settings.secret_key is not None or settings.env == "production":
        return settings
    secret = _read_or_create_secret(settings.var_dir / SECRET_KEY_FILE_NAME)
    return settings.model_copy(update={"secret_key": SecretStr(secret)})


def _read_or_create_secret(path: Path) -> str:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48))
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    if path.stat().st_mode & 0o077:
        # Someone loosened the mode (a copy, an archive): only the service's user may read it.
        path.chmod(0o600)
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"{path} holds no usable secret key; delete it to have a new one generated, "
            f"or set {ENV_PREFIX}SECRET_KEY"
        )
    return value


def render_env_example() -> str:
    """An example env file (for systemd's EnvironmentFile or a container) with every setting."""
    lines = [
        "# servicekonto settings, generated by `servicekonto env-example` from config.py.",
        "# All optional in development; production needs ENV, ISSUER, DATABASE_URL, SECRET_KEY.",
    ]
    for variable, default, description in environment_variables():
        lines += ["", f"# {description}", f"#{variable}={default}"]
    return "\n".join(lines) + "\n"


def render_settings_table() -> str:
    """The README's configuration table, generated from the same schema."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    rows += [
        f"| `{variable}` | {f'`{default}`' if default else '—'} | {description} |"
        for variable, default, description in environment_variables()
    ]
    return "\n".join(rows) + "\n"
