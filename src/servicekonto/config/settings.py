"""The settings of the service, read from `SERVICEKONTO_*` environment variables.

Nothing here runs at import time: `load_settings()` is called by the CLI and by the app factory.
Groups of settings are nested models whose variables stay flat (`SERVICEKONTO_DATABASE_URL` is
`database.url`), because operators and the design contract name them that way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekonto.config.groups import (
    POSTGRES_DRIVER_SCHEME,
    Argon2Settings,
    DatabaseSettings,
    EidSettings,
    KeySettings,
    LetterSettings,
    LoginSettings,
    LogSettings,
    MailSettings,
    OAuthSettings,
    OrganisationSettings,
    RegistrySettings,
    SafeSettings,
    ServerSettings,
    SessionSettings,
    TokenSettings,
)
from servicekonto.errors import ConfigurationError

ENV_PREFIX = "SERVICEKONTO_"
MIN_SECRET_KEY_LENGTH = 32
SQLITE_FILE_NAME = "servicekonto.sqlite3"
SECRET_KEY_HINT = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


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

    env: Literal["development", "demo", "production"] = Field(
        default="development",
        description=(
            "development: safe embedded defaults; demo: development plus the demo letterbox; "
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
    admin_token: SecretStr | None = Field(
        default=None,
        description=(
            f"Bearer token of the admin REST API (at least {MIN_SECRET_KEY_LENGTH} characters); "
            "unset, the admin API does not exist."
        ),
    )
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings, description="Database connection."
    )
    server: ServerSettings = Field(default_factory=ServerSettings, description="HTTP server.")
    log: LogSettings = Field(default_factory=LogSettings, description="Logging.")
    argon2: Argon2Settings = Field(default_factory=Argon2Settings, description="Password hashing.")
    session: SessionSettings = Field(default_factory=SessionSettings, description="Sessions.")
    login: LoginSettings = Field(default_factory=LoginSettings, description="Brute-force defence.")
    tokens: TokenSettings = Field(default_factory=TokenSettings, description="E-mailed links.")
    mail: MailSettings = Field(default_factory=MailSettings, description="Outgoing mail.")
    registry: RegistrySettings = Field(
        default_factory=RegistrySettings, description="Population registry."
    )
    letters: LetterSettings = Field(default_factory=LetterSettings, description="PIN letters.")
    keys: KeySettings = Field(default_factory=KeySettings, description="Token signing keys.")
    oauth: OAuthSettings = Field(default_factory=OAuthSettings, description="Issued tokens.")
    safe: SafeSettings = Field(default_factory=SafeSettings, description="Document safe.")
    eid: EidSettings = Field(default_factory=EidSettings, description="eID-Server.")
    organisations: OrganisationSettings = Field(
        default_factory=OrganisationSettings, description="Organisations."
    )

    @field_validator("issuer")
    @classmethod
    def _issuer_is_base_url(cls, value: str) -> str:
        return normalise_issuer(value)

    @field_validator("secret_key", "admin_token")
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
    def secret(self) -> str:
        """The root secret's value; empty only before `with_secret_key` (create_app refuses it)."""
        return self.secret_key.get_secret_value() if self.secret_key else ""

    @property
    def uses_embedded_database(self) -> bool:
        return self.database.url is None

    @property
    def https(self) -> bool:
        """Whether browsers reach us over https (decides the cookies' Secure flag and HSTS)."""
        return self.issuer.startswith("https://")

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
    if settings.mail.smtp_security == "none" and settings.mail.smtp_username:
        problems.append(
            f"{ENV_PREFIX}MAIL_SMTP_SECURITY must be starttls or tls in production "
            "when a user name is set: the password would cross the network in clear text"
        )
    if settings.secret_key is None:
        problems.append(
            f"{ENV_PREFIX}SECRET_KEY must be set in production; "
            f"generate one with: {SECRET_KEY_HINT}"
        )
    return problems


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
