"""Groups of settings: each a nested model whose variables stay flat (SERVICEKONTO_DATABASE_URL)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError

POSTGRES_DRIVER_SCHEME = "postgresql+psycopg"
# People write PostgreSQL URLs in several spellings; all of them mean our one driver.
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database: postgresql+psycopg://user:password@host:5432/name "
            "in production; empty means an SQLite file under the var directory."
        ),
    )
    pool_size: int = Field(
        default=10,
        ge=1,
        le=200,
        description=(
            "Connections kept open per pool (PostgreSQL); a worker has two pools, the "
            "token endpoints' on the event loop opening its connections only when used."
        ),
    )
    max_overflow: int = Field(
        default=10,
        ge=0,
        le=200,
        description="Extra connections each pool may open under load (PostgreSQL).",
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


class Argon2Settings(BaseModel):
    """argon2id parameters for passwords and other typed secrets.

    The default (t=2, m=46 MiB, p=1) is at or above the OWASP Password Storage Cheat Sheet's
    argon2id minimum and takes about 80 ms per hash on two cores; stored hashes made with other
    parameters are rehashed at the next successful login.
    """

    time_cost: int = Field(default=2, ge=1, le=20, description="argon2id iterations (t).")
    memory_cost_kib: int = Field(
        default=47104, ge=8192, le=1048576, description="argon2id memory in KiB (m)."
    )
    parallelism: int = Field(default=1, ge=1, le=16, description="argon2id lanes (p).")


class SessionSettings(BaseModel):
    """Login sessions: lifetimes per trust level as in the design's defaults."""

    cookie_name: str = Field(
        default="sk_session",
        pattern=r"^[A-Za-z0-9_-]{1,40}$",
        description="Name of the session cookie (it holds a random id only).",
    )
    basic_idle_minutes: int = Field(
        default=60, ge=1, description="Idle timeout of a session at levels 1-2."
    )
    basic_absolute_minutes: int = Field(
        default=720, ge=1, description="Absolute lifetime of a session at levels 1-2."
    )
    substantial_idle_minutes: int = Field(
        default=30, ge=1, description="Idle timeout of a session at level 3 (second factor)."
    )
    substantial_absolute_minutes: int = Field(
        default=120, ge=1, description="Absolute lifetime of a session at level 3."
    )
    high_idle_minutes: int = Field(default=5, ge=1, description="Idle timeout at level 4 (eID).")
    high_absolute_minutes: int = Field(
        default=30, ge=1, description="Absolute lifetime of a session at level 4."
    )


class LoginSettings(BaseModel):
    """Brute-force defence for log-in, second factor and e-mail requests."""

    free_failures: int = Field(
        default=3, ge=1, le=50, description="Failed attempts per account before delays begin."
    )
    max_delay_seconds: int = Field(
        default=60, ge=1, le=3600, description="Longest wait imposed between attempts."
    )
    lock_after_failures: int = Field(
        default=10, ge=2, le=1000, description="Failed attempts per account that lock it."
    )
    lock_minutes: int = Field(
        default=15, ge=1, le=1440, description="How long a locked account or address stays locked."
    )
    ip_lock_after_failures: int = Field(
        default=100,
        ge=2,
        le=100000,
        description="Failed attempts from one client address that lock it (offices share one).",
    )


class TokenSettings(BaseModel):
    """Lifetimes of the links we send by e-mail."""

    email_confirmation_hours: int = Field(
        default=48, ge=1, le=720, description="Validity of the e-mail confirmation link."
    )
    password_reset_minutes: int = Field(
        default=60, ge=5, le=1440, description="Validity of the password reset link."
    )
    email_change_hours: int = Field(
        default=24,
        ge=1,
        le=720,
        description="Validity of the link confirming a new e-mail address.",
    )


class MailSettings(BaseModel):
    backend: Literal["file", "smtp"] = Field(
        default="file",
        description="file: write .eml files under var/mail; smtp: send through SMTP.",
    )
    sender: str = Field(
        default="ServiceKonto <servicekonto@localhost>",
        description="From address of every message.",
    )
    smtp_host: str = Field(default="localhost", description="SMTP server host.")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="SMTP transport security."
    )
    smtp_username: str | None = Field(default=None, description="SMTP user name, if any.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password, if any.")
    smtp_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds to wait for the SMTP server."
    )


class RegistrySettings(BaseModel):
    """The population registry the identity check asks."""

    adapter: Literal["mock", "http"] = Field(
        default="mock",
        description="mock: the residents loaded with `registry import`; http: a registry gateway.",
    )
    url: str = Field(
        default="http://127.0.0.1:8081",
        description="Base URL of the registry gateway (adapter http), e.g. the registry mock.",
    )
    timeout: float = Field(
        default=5.0, gt=0, le=60, description="Seconds to wait for one registry answer."
    )
    attempts: int = Field(
        default=3, ge=1, le=10, description="Tries per lookup before the registry counts as down."
    )
    retry_minutes: int = Field(
        default=15,
        ge=1,
        le=1440,
        description="When the registry was down: minutes until the next check.",
    )


class LetterSettings(BaseModel):
    """PIN letters: validity, attempts, and the sender printed on them."""

    validity_days: int = Field(default=30, ge=1, le=365, description="Days a PIN letter is valid.")
    max_attempts: int = Field(
        default=5, ge=1, le=20, description="Wrong PINs after which a letter is used up."
    )
    per_year: int = Field(
        default=3, ge=1, le=50, description="Letters a person may order within a year."
    )
    sender_name: str = Field(
        default="Kreisverwaltung Cochem-Zell", description="Authority named as the sender."
    )
    sender_address: str = Field(
        default="Endertplatz 2, 56812 Cochem", description="Sender address on one line."
    )


class KeySettings(BaseModel):
    """Token signing keys and their rotation."""

    publish_lead_minutes: int = Field(
        default=10,
        ge=0,
        le=10080,
        description="Minutes a new key is published in the JWKS before it signs (caches refresh).",
    )
    keep_published_hours: int = Field(
        default=24,
        ge=1,
        le=8760,
        description="Hours a replaced key stays published: longer than any token it signed lives.",
    )
    cache_seconds: int = Field(
        default=30,
        ge=0,
        le=3600,
        description="Seconds an instance keeps the keys before re-reading.",
    )


class OAuthSettings(BaseModel):
    """Tokens issued to procedures."""

    access_token_seconds: int = Field(
        default=600, ge=30, le=86400, description="Lifetime of an access token in seconds."
    )
    refresh_token_days: int = Field(
        default=30, ge=1, le=365, description="Lifetime of a refresh token in days."
    )


class SafeSettings(BaseModel):
    """The document safe: what procedures may deposit and how long it is kept."""

    document_max_mb: int = Field(
        default=10, ge=1, le=100, description="Largest PDF a procedure may deposit, in MB."
    )
    quota_mb: int = Field(
        default=200, ge=1, le=10240, description="Storage per account for deposited documents, MB."
    )
    retention_receipt_days: int = Field(
        default=730, ge=1, description="Days an application receipt is kept before it is purged."
    )
    retention_interim_message_days: int = Field(
        default=365, ge=1, description="Days an interim message is kept before it is purged."
    )
    retention_notice_days: int = Field(
        default=3650, ge=1, description="Days a notice (Bescheid) is kept before it is purged."
    )
    retention_other_days: int = Field(
        default=365, ge=1, description="Days any other document is kept before it is purged."
    )

    def retention_days(self, category: str) -> int:
        days: int = getattr(self, f"retention_{category}_days")
        return days


class EidSettings(BaseModel):
    """The eID-Server that runs the online ID function of the card for us (BSI TR-03130)."""

    url: str | None = Field(
        default=None,
        description=(
            "Base URL of the eID-Server (the mock: http://127.0.0.1:8082, started with "
            "`servicekonto eid-mock serve`); empty, the eID login is not offered."
        ),
    )
    sector: str = Field(
        default="servicekonto",
        min_length=1,
        max_length=100,
        description="Our sector for the card's pseudonym (restricted identification).",
    )
    timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="How long to wait for the eID-Server."
    )


class OrganisationSettings(BaseModel):
    """Organisations: their documents and how the registration office decides."""

    upload_max_mb: int = Field(
        default=10, ge=1, le=100, description="Largest single document upload, in MB."
    )
    upload_total_mb: int = Field(
        default=30, ge=1, le=500, description="All documents of one organisation together, MB."
    )
    four_eyes: bool = Field(
        default=False,
        description="A verification needs a second staff member's confirmation.",
    )
    invitation_days: int = Field(
        default=7, ge=1, le=60, description="Days an invitation link to an organisation is valid."
    )
