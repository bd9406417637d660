"""Single-use links sent by e-mail: issued as random tokens, stored as digests, consumed once.

A link token is an unguessable random value (256 bits) whose HMAC digest is stored with its
purpose and expiry; that is what makes it "signed": without the service's key nobody can
produce a digest the database would accept, and unlike a stateless signature it can be
revoked — issuing a new link of a purpose voids the person's older ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from servicekonto.accounts.models import EmailToken, EmailTokenPurpose, Person
from servicekonto.accounts.repository import EmailTokenRepository
from servicekonto.security.secrets import Digester, new_token, token_kind

_KINDS = {
    EmailTokenPurpose.CONFIRM_EMAIL: "ec",
    EmailTokenPurpose.RESET_PASSWORD: "pr",
    EmailTokenPurpose.CHANGE_EMAIL: "ce",
}
MAX_TOKEN_LENGTH = 100


class EmailTokens:
    def __init__(self, digester: Digester) -> None:
        self._digester = digester

    def issue(
        self,
        session: Session,
        person: Person,
        purpose: EmailTokenPurpose,
        valid_for: timedelta,
        *,
        now: datetime,
        new_email: str | None = None,
    ) -> str:
        repository = EmailTokenRepository(session)
        repository.void_open(person.id, purpose.value, now)
        token = new_token(_KINDS[purpose])
        repository.add(
            EmailToken(
                purpose=purpose.value,
                token_digest=self._digester.digest(token),
                person_id=person.id,
                new_email=new_email,
                created_at=now,
                expires_at=now + valid_for,
            )
        )
        return token

    def peek(
        self, session: Session, purpose: EmailTokenPurpose, token: str, now: datetime
    ) -> EmailToken | None:
        """The token's record if it could still be redeemed; nothing is changed."""
        if len(token) > MAX_TOKEN_LENGTH or token_kind(token) != _KINDS[purpose]:
            return None
        digest = self._digester.digest(token)
        return EmailTokenRepository(session).usable(purpose.value, digest, now)

    def redeem(
        self, session: Session, purpose: EmailTokenPurpose, token: str, now: datetime
    ) -> EmailToken | None:
        """Consume the token; None if unknown, expired, already used, or used concurrently."""
        record = self.peek(session, purpose, token, now)
        if record is None or not EmailTokenRepository(session).consume(record, now):
            return None
        return record
