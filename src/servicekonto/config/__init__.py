"""Settings: built explicitly from the environment, described for operators, safe by default."""

from servicekonto.config.docs import (
    environment_variables,
    render_env_example,
    render_settings_table,
)
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
    RegistrySettings,
    SafeSettings,
    ServerSettings,
    SessionSettings,
    TokenSettings,
    normalise_database_url,
)
from servicekonto.config.secret_file import SECRET_KEY_FILE_NAME, with_secret_key
from servicekonto.config.settings import (
    ENV_PREFIX,
    MIN_SECRET_KEY_LENGTH,
    SECRET_KEY_HINT,
    Settings,
    load_settings,
    production_problems,
)

__all__ = [
    "ENV_PREFIX",
    "MIN_SECRET_KEY_LENGTH",
    "POSTGRES_DRIVER_SCHEME",
    "SECRET_KEY_FILE_NAME",
    "SECRET_KEY_HINT",
    "Argon2Settings",
    "DatabaseSettings",
    "EidSettings",
    "KeySettings",
    "LetterSettings",
    "LogSettings",
    "LoginSettings",
    "MailSettings",
    "OAuthSettings",
    "RegistrySettings",
    "SafeSettings",
    "ServerSettings",
    "SessionSettings",
    "Settings",
    "TokenSettings",
    "environment_variables",
    "load_settings",
    "normalise_database_url",
    "production_problems",
    "render_env_example",
    "render_settings_table",
    "with_secret_key",
]
