"""Building the identity-check services from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from servicekonto.accounts.context import AccountContext
from servicekonto.pinletters.issuing import SEAL_PURPOSE, LetterTools
from servicekonto.pinletters.outbox import LetterOutbox
from servicekonto.registration.service import IdentityCheckService
from servicekonto.registry.factory import build_registry
from servicekonto.security.encryption import SecretBox


@dataclass(frozen=True)
class IdentityContext:
    checks: IdentityCheckService
    outbox: LetterOutbox


def build_identity_context(accounts: AccountContext) -> IdentityContext:
    settings = accounts.settings
    if settings.secret_key is None:
        raise ValueError("the identity check needs the secret key (with_secret_key)")
    tools = LetterTools(
        hasher=accounts.hasher,
        box=SecretBox(settings.secret_key.get_secret_value(), SEAL_PURPOSE),
        settings=settings.letters,
    )
    registry = build_registry(settings.registry, accounts.database)
    checks = IdentityCheckService(
        settings,
        accounts.database,
        clock=accounts.clock,
        registry=registry,
        tools=tools,
        throttle=accounts.throttle,
    )
    return IdentityContext(
        checks=checks,
        outbox=LetterOutbox(settings, accounts.database, accounts.clock, tools),
    )
