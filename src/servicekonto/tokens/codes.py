"""Authorization codes and refresh tokens: single use, stored as digests, families revoked
together when one is replayed (RFC 9700 §2.1.1 and §4.14; node-oidc-provider's grant_common).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Exists,
    Row,
    SQLColumnExpression,
    bindparam,
    delete,
    exists,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicekonto.security.secrets import Digester, new_token, token_kind
from servicekonto.store.engine import Database, Executor
from servicekonto.store.results import rows_affected
from servicekonto.tokens.models import AuthorizationCode, IssuedToken, RefreshToken, UsedAssertion

CODE_LIFETIME = timedelta(seconds=60)
CODE_KIND = "ac"
REFRESH_KIND = "rt"
MAX_LENGTH = 100


@dataclass(frozen=True)
class Redeemable:
    """A code or refresh token found usable: what it grants, and the row `consume` uses up."""

    grant: Grant
    model: type[AuthorizationCode | RefreshToken]
    row_id: uuid.UUID


@dataclass(frozen=True)
class NewRefresh:
    """A refresh token to hand out, and the row that records it (by digest only)."""

    token: str
    values: dict[str, Any]


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

    def find_code(self, code: str, client_id: str, now: datetime) -> Redeemable | None:
        """An unused, unexpired code of this client, read without a transaction.

        Nothing is consumed yet: `consume` does that when the tokens are written, in their
        transaction. A code found used is a replay and revokes its family at once (RFC 9700
        §4.5); a code used between now and `consume` is caught there.
        """
        digest = self._digest_of(code, CODE_KIND)
        if digest is None:
            return None
        with self.database.reading() as connection:
            row = connection.execute(_FIND_CODE, {"digest": digest, "client_id": client_id}).first()
        if row is None:
            return None
        if row.used_at is not None:
            self._in_own_transaction(_code_replayed, row.id, row.family_id, now)
            return None
        if now >= row.expires_at:
            return None
        return Redeemable(_grant_of(row, is_code=True), AuthorizationCode, row.id)

    def find_refresh(self, token: str, client_id: str, now: datetime) -> Redeemable | None:
        """An unused, unrevoked, unexpired refresh token of this client, like `find_code`.

        One presented again after its use is stolen or replayed: its family ends.
        """
        digest = self._digest_of(token, REFRESH_KIND)
        if digest is None:
            return None
        with self.database.reading() as connection:
            parameters = {"digest": digest, "client_id": client_id}
            row = connection.execute(_FIND_REFRESH, parameters).first()
        if row is None or row.revoked_at is not None or row.replayed:
            return None
        if row.used_at is not None:
            self._in_own_transaction(_refresh_replayed, row.id, row.family_id, now)
            return None
        if now >= row.expires_at:
            return None
        return Redeemable(_grant_of(row, is_code=False), RefreshToken, row.id)

    def consume(self, session: Executor, found: Redeemable, now: datetime) -> bool:
        """Use the code or refresh token up, in the caller's transaction.

        One guarded UPDATE (STYLE habit 5): of concurrent requests for the same code exactly one
        changes the row; the others wait for its transaction on the row lock, find `used_at`
        set, and revoke what the winner has committed by then (a replay).
        """
        consume = _CONSUME_CODE if found.model is AuthorizationCode else _CONSUME_REFRESH
        result = session.execute(consume, {"row_id": found.row_id, "now": now})
        if rows_affected(result) == 1:
            return True
        replayed = _code_replayed if found.model is AuthorizationCode else _refresh_replayed
        replayed(session, found.row_id, found.grant.family_id, now)
        return False

    def _in_own_transaction(
        self,
        action: Callable[[Executor, uuid.UUID, uuid.UUID, datetime], None],
        row_id: uuid.UUID,
        family_id: uuid.UUID,
        now: datetime,
    ) -> None:
        # `transaction()`, not a unit of work: on the event loop (store/loop.py) a write must
        # wait there, since a row it waits for may be locked by another request on the loop.
        with self.database.transaction() as connection:
            action(connection, row_id, family_id, now)

    def issue_refresh(self, grant: Grant, now: datetime) -> str:
        pending = self.new_refresh(grant, now)
        with self.database.unit_of_work() as uow:
            self.add_refresh(uow.session, pending)
            uow.commit()
        return pending.token

    def new_refresh(self, grant: Grant, now: datetime) -> NewRefresh:
        """A refresh token for the grant and its row, written later by `add_refresh`."""
        token = new_token(REFRESH_KIND)
        digest = self._digester.digest(token)
        return NewRefresh(token, _refresh_values(digest, grant, now, self._refresh_lifetime))

    def add_refresh(self, session: Executor, pending: NewRefresh) -> None:
        """Write the refresh token's row in the caller's transaction (a plain INSERT)."""
        session.execute(_INSERT_REFRESH, pending.values)

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


def _code_replayed(
    session: Executor, code_id: uuid.UUID, family_id: uuid.UUID, now: datetime
) -> None:
    """A used code presented again: every token of its family is void (STYLE habit 4)."""
    session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == code_id)
        .values(replayed_at=now)
        .execution_options(synchronize_session=False)
    )
    revoke_family(session, family_id, now)


def _refresh_replayed(
    session: Executor, _token_id: uuid.UUID, family_id: uuid.UUID, now: datetime
) -> None:
    """A used refresh token presented again: stolen or replayed. End the family."""
    revoke_family(session, family_id, now)


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


def family_replayed(family_id: SQLColumnExpression[Any]) -> Exists:
    """True where the code a family came from was replayed: then none of its tokens count.

    An expression, so the token and its family are checked in one statement.
    """
    return exists().where(
        AuthorizationCode.family_id == family_id, AuthorizationCode.replayed_at.is_not(None)
    )


# The token endpoint's writes, built once and run with parameters: composing and hashing a
# statement for every request cost a code exchange about a tenth of its CPU.
_codes = AuthorizationCode.metadata.tables[AuthorizationCode.__tablename__]
_refresh_tokens = RefreshToken.metadata.tables[RefreshToken.__tablename__]
_CONSUME_CODE = (
    update(_codes)
    .where(_codes.c.id == bindparam("row_id"), _codes.c.used_at.is_(None))
    .values(used_at=bindparam("now", type_=_codes.c.used_at.type))
)
# A refresh token revoked, or whose code was replayed, since `find_refresh` looked is not
# usable either.
_CONSUME_REFRESH = (
    update(_refresh_tokens)
    .where(
        _refresh_tokens.c.id == bindparam("row_id"),
        _refresh_tokens.c.used_at.is_(None),
        _refresh_tokens.c.revoked_at.is_(None),
        ~family_replayed(_refresh_tokens.c.family_id),
    )
    .values(used_at=bindparam("now", type_=_refresh_tokens.c.used_at.type))
)
_INSERT_REFRESH = insert(_refresh_tokens)
# The token endpoint's reads, likewise: Core rows, no Session (`GrantStore.find_code`).
_FIND_CODE = select(_codes).where(
    _codes.c.code_digest == bindparam("digest"), _codes.c.client_id == bindparam("client_id")
)
_FIND_REFRESH = select(
    _refresh_tokens, family_replayed(_refresh_tokens.c.family_id).label("replayed")
).where(
    _refresh_tokens.c.token_digest == bindparam("digest"),
    _refresh_tokens.c.client_id == bindparam("client_id"),
)


def revoke_family(session: Executor, family_id: uuid.UUID, now: datetime) -> None:
    for model in (RefreshToken, IssuedToken):
        session.execute(
            update(model)
            .where(model.family_id == family_id, model.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )


def _grant_of(row: Row[Any], *, is_code: bool) -> Grant:
    """The grant a code's or refresh token's row (of `_FIND_CODE`, `_FIND_REFRESH`) stands for."""
    return Grant(
        client_id=row.client_id,
        person_id=row.person_id,
        scope=row.scope,
        acr=row.acr,
        amr=list(row.amr),
        auth_time=row.auth_time,
        family_id=row.family_id,
        claims_request=row.claims_request,
        nonce=row.nonce if is_code else None,
        redirect_uri=row.redirect_uri if is_code else None,
        code_challenge=row.code_challenge if is_code else None,
        code_challenge_method=row.code_challenge_method if is_code else None,
    )


def _refresh_values(
    digest: str, grant: Grant, now: datetime, lifetime: timedelta
) -> dict[str, Any]:
    return {
        "token_digest": digest,
        "family_id": grant.family_id,
        "client_id": grant.client_id,
        "person_id": grant.person_id,
        "scope": grant.scope,
        "acr": grant.acr,
        "amr": list(grant.amr),
        "auth_time": grant.auth_time,
        "claims_request": grant.claims_request,
        "created_at": now,
        "expires_at": now + lifetime,
    }
