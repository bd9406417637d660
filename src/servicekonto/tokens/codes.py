"""Authorization codes and refresh tokens: single use, stored as digests, families revoked
together when one is replayed (RFC 9700 §2.1.1 and §4.14; node-oidc-provider's grant_common).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicekonto.security.secrets import Digester, new_token, token_kind
from servicekonto.store.engine import Database
from servicekonto.store.results import rows_affected
from servicekonto.tokens.models import AuthorizationCode, IssuedToken, RefreshToken, UsedAssertion

CODE_LIFETIME = timedelta(seconds=60)
CODE_KIND = "ac"
REFRESH_KIND = "rt"
MAX_LENGTH = 100


@dataclass(frozen=True)
class Grant:
    """What a code or refresh token stands for."""

    client_id: str
    person_id: uuid.UUID
    scope: str
    acr: str
    amr: list[str]
    auth_time: datetime
    family_id: uuid.UUID
    nonce: str | None = None
    redirect_uri: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    claims_request: dict[str, Any] | None = None


class GrantStore:
    def __init__(self, database: Database, digester: Digester, refresh_lifetime: timedelta) -> None:
        self.database = database
        self._digester = digester
        self._refresh_lifetime = refresh_lifetime

    def _digest_of(self, token: str, kind: str) -> str | None:
        """The stored digest of a well-formed token of this kind; None spares a lookup."""
        if len(token) > MAX_LENGTH or token_kind(token) != kind:
            return None
        return self._digester.digest(token)

    def issue_code(self, grant: Grant, session_id: uuid.UUID | None, now: datetime) -> str:
        code = new_token(CODE_KIND)
        self.issue_code_with(code, grant, session_id, now)
        return code

    def issue_code_with(
        self, code: str, grant: Grant, session_id: uuid.UUID | None, now: datetime
    ) -> None:
        with self.database.unit_of_work() as uow:
            uow.session.add(
                AuthorizationCode(
                    code_digest=self._digester.digest(code),
                    client_id=grant.client_id,
                    person_id=grant.person_id,
                    session_id=session_id,
                    redirect_uri=grant.redirect_uri or "",
                    scope=grant.scope,
                    nonce=grant.nonce,
                    code_challenge=grant.code_challenge,
                    code_challenge_method=grant.code_challenge_method,
                    acr=grant.acr,
                    amr=list(grant.amr),
                    auth_time=grant.auth_time,
                    family_id=grant.family_id,
                    claims_request=grant.claims_request,
                    created_at=now,
                    expires_at=now + CODE_LIFETIME,
                )
            )
            uow.commit()

    def redeem_code(self, code: str, client_id: str, now: datetime) -> Grant | None:
        """Use the code up; a second use revokes every token issued from it (RFC 9700 §4.5)."""
        digest = self._digest_of(code, CODE_KIND)
        if digest is None:
            return None
        with self.database.unit_of_work() as uow:
            row = uow.session.scalars(
                select(AuthorizationCode).where(AuthorizationCode.code_digest == digest)
            ).one_or_none()
            if row is None or row.client_id != client_id:
                return None
            if not _use_once(uow.session, AuthorizationCode, row.id, now):
                uow.session.execute(
                    update(AuthorizationCode)
                    .where(AuthorizationCode.id == row.id)
                    .values(replayed_at=now)
                    .execution_options(synchronize_session=False)
                )
                revoke_family(uow.session, row.family_id, now)
                uow.commit()
                return None
            uow.commit()
        if now >= row.expires_at:
            return None
        return _grant_of(row)

    def issue_refresh(self, grant: Grant, now: datetime) -> str:
        token = new_token(REFRESH_KIND)
        with self.database.unit_of_work() as uow:
            uow.session.add(
                _refresh_row(self._digester.digest(token), grant, now, self._refresh_lifetime)
            )
            uow.commit()
        return token

    def rotate_refresh(self, token: str, client_id: str, now: datetime) -> tuple[Grant, str] | None:
        """Exchange a refresh token for a new one; a reused token revokes its family."""
        digest = self._digest_of(token, REFRESH_KIND)
        if digest is None:
            return None
        with self.database.unit_of_work() as uow:
            row = _refresh_of(uow.session, digest, client_id)
            if row is None or row.revoked_at is not None:
                return None
            if family_void(uow.session, row.family_id):
                return None
            if not _use_once(uow.session, RefreshToken, row.id, now):
                # A used refresh token presented again: stolen or replayed. End the family.
                revoke_family(uow.session, row.family_id, now)
                uow.commit()
                return None
            if now >= row.expires_at:
                uow.commit()
                return None
            grant = _grant_of(row)
            fresh = new_token(REFRESH_KIND)
            uow.session.add(
                _refresh_row(self._digester.digest(fresh), grant, now, self._refresh_lifetime)
            )
            uow.commit()
        return grant, fresh

    def revoke_refresh(self, token: str, client_id: str, now: datetime) -> bool:
        digest = self._digest_of(token, REFRESH_KIND)
        if digest is None:
            return False
        with self.database.unit_of_work() as uow:
            row = _refresh_of(uow.session, digest, client_id)
            if row is None:
                return False
            revoke_family(uow.session, row.family_id, now)
            uow.commit()
        return True


def _refresh_of(session: Session, digest: str, client_id: str) -> RefreshToken | None:
    """The refresh token with this digest if it belongs to this client."""
    row = session.scalars(
        select(RefreshToken).where(RefreshToken.token_digest == digest)
    ).one_or_none()
    if row is None or row.client_id != client_id:
        return None
    return row


def first_use_of_assertion(
    database: Database, client_id: str, jti: str, expires_at: datetime, now: datetime
) -> bool:
    """Record a client assertion's jti; False if it was seen before (a replay)."""
    if not jti or len(jti) > 200:
        return False
    with database.unit_of_work() as uow:
        uow.session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < now))
        uow.session.add(UsedAssertion(client_id=client_id, jti=jti, expires_at=expires_at))
        try:
            uow.commit()
        except IntegrityError:
            return False
    return True


def clients_of_sessions(database: Database, session_ids: list[uuid.UUID]) -> dict[str, uuid.UUID]:
    """The procedures that received a code from these sessions, with the person for each."""
    if not session_ids:
        return {}
    with database.session() as session:
        rows = session.execute(
            select(AuthorizationCode.client_id, AuthorizationCode.person_id)
            .where(AuthorizationCode.session_id.in_(session_ids))
            .distinct()
        )
        return {row.client_id: row.person_id for row in rows}


def family_void(session: Session, family_id: uuid.UUID | None) -> bool:
    """Was the code this family came from replayed? Then none of its tokens count."""
    if family_id is None:
        return False
    replayed = session.scalar(
        select(AuthorizationCode.replayed_at).where(AuthorizationCode.family_id == family_id)
    )
    return replayed is not None


def revoke_family(session: Session, family_id: uuid.UUID, now: datetime) -> None:
    for model in (RefreshToken, IssuedToken):
        session.execute(
            update(model)
            .where(model.family_id == family_id, model.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )


def _use_once(
    session: Session,
    model: type[AuthorizationCode | RefreshToken],
    row_id: uuid.UUID,
    now: datetime,
) -> bool:
    """Mark used with one guarded UPDATE; True only for the one request whose update counted."""
    result = session.execute(
        update(model)
        .where(model.id == row_id, model.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return rows_affected(result) == 1


def _grant_of(row: AuthorizationCode | RefreshToken) -> Grant:
    is_code = isinstance(row, AuthorizationCode)
    return Grant(
        client_id=row.client_id,
        person_id=row.person_id,
        scope=row.scope,
        acr=row.acr,
        amr=list(row.amr),
        auth_time=row.auth_time,
        family_id=row.family_id,
        claims_request=row.claims_request,
        nonce=row.nonce if is_code else None,  # type: ignore[union-attr]
        redirect_uri=row.redirect_uri if is_code else None,  # type: ignore[union-attr]
        code_challenge=row.code_challenge if is_code else None,  # type: ignore[union-attr]
        code_challenge_method=row.code_challenge_method if is_code else None,  # type: ignore[union-attr]
    )


def _refresh_row(digest: str, grant: Grant, now: datetime, lifetime: timedelta) -> RefreshToken:
    return RefreshToken(
        token_digest=digest,
        family_id=grant.family_id,
        client_id=grant.client_id,
        person_id=grant.person_id,
        scope=grant.scope,
        acr=grant.acr,
        amr=list(grant.amr),
        auth_time=grant.auth_time,
        claims_request=grant.claims_request,
        created_at=now,
        expires_at=now + lifetime,
    )
