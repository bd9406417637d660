"""Expired and spent grant records are deleted: access-token records, refresh tokens, codes.

Run by `servicekonto tokens purge` (daily, from cron or a systemd timer). Without it the three
tables only grow: every token request adds one to three rows. Deleting is idempotent, so a purge
that stops half-way is simply run again.

What may go, and why it is safe (each row is kept `keep` past the moment it stopped counting):
- an access-token record once its token expired: introspection and userinfo refuse an expired
  token before they look for its record;
- a refresh token once it expired or was revoked: neither can be used again. A used one stays
  until it expires, so presenting it again is still recognised as a replay (RFC 9700 §4.14);
- an authorization code once it expired and no token of its family is left: the family's
  tokens look up their code to learn whether it was replayed (STYLE habit 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, or_
from sqlalchemy.orm import Session

from servicekonto.store.engine import Database
from servicekonto.store.results import rows_affected
from servicekonto.tokens.models import AuthorizationCode, IssuedToken, RefreshToken

DEFAULT_KEEP = timedelta(days=1)


@dataclass(frozen=True)
class TokenPurgeReport:
    access_tokens: int
    refresh_tokens: int
    authorization_codes: int

    def as_json(self) -> dict[str, int]:
        return {
            "access_tokens": self.access_tokens,
            "refresh_tokens": self.refresh_tokens,
            "authorization_codes": self.authorization_codes,
        }


def purge_tokens(
    database: Database, now: datetime, keep: timedelta = DEFAULT_KEEP
) -> TokenPurgeReport:
    cutoff = now - keep
    with database.unit_of_work() as uow:
        report = TokenPurgeReport(
            access_tokens=_delete_access_tokens(uow.session, cutoff),
            refresh_tokens=_delete_refresh_tokens(uow.session, cutoff),
            # Last: a code goes only once its family's tokens are gone.
            authorization_codes=_delete_codes(uow.session, cutoff),
        )
        uow.commit()
    return report


def _delete_access_tokens(session: Session, cutoff: datetime) -> int:
    return rows_affected(
        session.execute(delete(IssuedToken).where(IssuedToken.expires_at < cutoff))
    )


def _delete_refresh_tokens(session: Session, cutoff: datetime) -> int:
    spent = or_(RefreshToken.expires_at < cutoff, RefreshToken.revoked_at < cutoff)
    return rows_affected(session.execute(delete(RefreshToken).where(spent)))


def _delete_codes(session: Session, cutoff: datetime) -> int:
    family = AuthorizationCode.family_id
    orphaned = ~exists().where(RefreshToken.family_id == family) & ~exists().where(
        IssuedToken.family_id == family
    )
    statement = delete(AuthorizationCode).where(AuthorizationCode.expires_at < cutoff, orphaned)
    return rows_affected(session.execute(statement))
