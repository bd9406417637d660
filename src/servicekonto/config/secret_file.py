"""The development secret key, generated once under var/ and kept there with mode 0600."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from servicekonto.config.settings import ENV_PREFIX, MIN_SECRET_KEY_LENGTH, Settings
from servicekonto.errors import ConfigurationError

SECRET_KEY_FILE_NAME = "secret_key"


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
