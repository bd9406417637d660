"""Everything the account use cases need, built once per app from the settings."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from servicekonto.accounts.email_tokens import EmailTokens
from servicekonto.accounts.notifications import Notifier
from servicekonto.accounts.passkeys import PasskeyService
from servicekonto.accounts.sessions import SessionManager
from servicekonto.accounts.throttle import Throttle
from servicekonto.accounts.totp import SEED_BOX_PURPOSE, TotpService
from servicekonto.clock import Clock
from servicekonto.config import Settings
from servicekonto.mail.senders import MailSender
from servicekonto.security.encryption import SecretBox
from servicekonto.security.passwords import PasswordHasher
from servicekonto.security.secrets import Digester
from servicekonto.store.engine import Database

SERVICE_DISPLAY_NAME = "ServiceKonto"


@dataclass(frozen=True)
class AccountContext:
    settings: Settings
    database: Database
    clock: Clock
    hasher: PasswordHasher
    sessions: SessionManager
    throttle: Throttle
    email_tokens: EmailTokens
    recovery_digester: Digester
    totp: TotpService
    passkeys: PasskeyService
    notifier: Notifier
    # Called after sessions have ended (logout, everywhere, password change) with their ids
    # and the person: the OIDC front end tells the procedures (back-channel logout).
    session_end_listeners: list[Callable[[list[uuid.UUID], uuid.UUID], None]] = field(
        default_factory=list
    )

    def sessions_ended(self, session_ids: list[uuid.UUID], person_id: uuid.UUID) -> None:
        for listener in self.session_end_listeners:
            listener(session_ids, person_id)


def build_account_context(
    settings: Settings, database: Database, clock: Clock, mail_sender: MailSender
) -> AccountContext:
    if settings.secret_key is None:
        raise ValueError("the account services need the secret key (with_secret_key)")
    root = settings.secret_key.get_secret_value()
    origin = urlsplit(settings.issuer)
    return AccountContext(
        settings=settings,
        database=database,
        clock=clock,
        hasher=PasswordHasher(settings.argon2),
        sessions=SessionManager(Digester(root, "session"), settings.session),
        throttle=Throttle(Digester(root, "throttle"), settings.login),
        email_tokens=EmailTokens(Digester(root, "email-token")),
        recovery_digester=Digester(root, "recovery-code"),
        totp=TotpService(SecretBox(root, SEED_BOX_PURPOSE), issuer_name=SERVICE_DISPLAY_NAME),
        passkeys=PasskeyService(
            rp_id=origin.hostname or "localhost",
            rp_name=SERVICE_DISPLAY_NAME,
            origin=f"{origin.scheme}://{origin.netloc}",
        ),
        notifier=Notifier(mail_sender, settings.issuer),
    )
