"""Single-use recovery codes: the way back in when the authenticator is lost.

Ten codes are handed out once and stored only as HMAC digests (STYLE habit 5). A code is ten
characters from an alphabet without look-alikes (no 0/O, no 1/I/L), shown as `XXXXX-XXXXX`;
31^10 ≈ 2^49 possibilities per code, against an attacker already rate-limited at the login.
The digest covers the person id too, so equal codes of two people can never collide in the
unique digest column, and a code only ever works for the person it was made for.
A code is consumed with a guarded UPDATE checked by row count: of two concurrent requests with
the same code exactly one succeeds.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from servicekonto.accounts.models import RecoveryCode
from servicekonto.security.secrets import Digester
from servicekonto.store.results import rows_affected

DIGEST_PURPOSE = "recovery-code"
CODE_COUNT = 10
CODE_LENGTH = 10
GROUP_LENGTH = 5
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_IGNORED_IN_INPUT = str.maketrans("", "", " -\t\u00a0")
_LONGEST_INPUT = 64


def digester_for(root_secret: str) -> Digester:
    return Digester(root_secret, DIGEST_PURPOSE)


def generate(
    session: Session, person_id: uuid.UUID, digester: Digester, now: datetime
) -> list[str]:
    """Replace the person's codes with ten new ones and return them, grouped for reading."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person_id))
    codes = _distinct_codes(CODE_COUNT)
    for code in codes:
        digest = _digest(digester, person_id, code)
        session.add(RecoveryCode(person_id=person_id, code_digest=digest, created_at=now))
    session.flush()
    return [_grouped(code) for code in codes]


def redeem(
    session: Session, person_id: uuid.UUID, code: str, digester: Digester, now: datetime
) -> bool:
    """Use up one code; False for a wrong, used or foreign code, or when a racer won."""
    normalised = normalise(code)
    if normalised is None:
        return False
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.person_id == person_id,
            RecoveryCode.code_digest == _digest(digester, person_id, normalised),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return rows_affected(result) == 1


def remaining(session: Session, person_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        RecoveryCode.person_id == person_id, RecoveryCode.used_at.is_(None)
    )
    return session.scalar(query) or 0


def normalise(code: str) -> str | None:
    """What was typed, without spaces and dashes, upper-cased; None if it cannot be a code."""
    if len(code) > _LONGEST_INPUT:
        return None
    compact = code.strip().upper().translate(_IGNORED_IN_INPUT)
    if len(compact) != CODE_LENGTH or any(character not in ALPHABET for character in compact):
        return None
    return compact


def _distinct_codes(count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        codes.add("".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)))
    return sorted(codes)


def _grouped(code: str) -> str:
    return f"{code[:GROUP_LENGTH]}-{code[GROUP_LENGTH:]}"


def _digest(digester: Digester, person_id: uuid.UUID, code: str) -> str:
    return digester.digest(f"{person_id}:{code}")
