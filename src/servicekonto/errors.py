"""Errors every layer may raise, each saying whether the operator or the caller caused it."""


class ServicekontoError(Exception):
    """Base class: anything we raise on purpose."""


class ConfigurationError(ServicekontoError):
    """The service cannot run as configured.

    The message is written for the operator: one line per problem, each saying what to set.
    It never contains a secret.
    """

    exit_code = 2

    def __init__(self, *problems: str) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(problems))


class DatabaseUnavailableError(ConfigurationError):
    """The configured database does not answer (down, wrong host, wrong credentials)."""
