"""TOTP second factor (RFC 6238): enrolment with a QR code, verification without replay.

The parameters are the ones every authenticator app understands: HMAC-SHA-1, six digits, a
30-second step (RFC 6238 §4 and §5.2; the otpauth URI format of Google Authenticator). The seed
is sealed with a SecretBox bound to the person id, so a seed copied to another person's row does
not decrypt there.

RFC 6238 §5.2 allows one step of clock drift either way, and asks that a code be accepted only
once. The last accepted step is recorded with a guarded UPDATE whose row count decides, so two
requests racing with the same code (or with codes of an earlier step) get exactly one success.
"""

from __future__ import annotations

import hmac
import html
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from servicekonto.accounts.models import Person, TotpFactor
from servicekonto.errors import ServicekontoError
from servicekonto.observability import get_logger
from servicekonto.security.encryption import DecryptionError, SecretBox
from servicekonto.store.results import rows_affected

log = get_logger(__name__)

SEED_BOX_PURPOSE = "totp-seed"
DIGITS = 6
STEP_SECONDS = 30
# RFC 6238 §5.2: accept the previous and next step for clock drift, no more.
DRIFT_STEPS = 1
# RFC 4226 §4 R6: a shared secret of 160 bits (32 base32 characters).
SEED_BASE32_LENGTH = 32
QR_SIZE_PX = 200
DEFAULT_QR_LABEL = "QR code for your authenticator app"
_CODE = re.compile(r"[0-9]{6}")  # ASCII digits only: [0-9], not \d, which matches any script
_LONGEST_INPUT = 64


class TotpAlreadyEnrolledError(ServicekontoError):
    """The person already has a confirmed authenticator; it must be removed first."""

    message_id = "totp.already_enrolled"

    def __init__(self) -> None:
        super().__init__("a confirmed TOTP factor exists; remove it before enrolling another")


@dataclass(frozen=True)
class TotpEnrolment:
    """What the enrolment page shows: the seed to type, and the same as URI and QR code."""

    secret: str
    provisioning_uri: str
    qr_svg: str


class TotpService:
    """Enrols, verifies and removes a person's TOTP factor inside the caller's session."""

    def __init__(self, box: SecretBox, issuer_name: str = "ServiceKonto") -> None:
        self._box = box
        self._issuer = issuer_name

    def begin_enrolment(
        self, session: Session, person: Person, now: datetime, *, qr_label: str = DEFAULT_QR_LABEL
    ) -> TotpEnrolment:
        """Create (or replace) an unconfirmed factor; refused while a confirmed one exists."""
        factor = _factor(session, person.id)
        if factor is not None and factor.confirmed_at is not None:
            raise TotpAlreadyEnrolledError
        secret = pyotp.random_base32(length=SEED_BASE32_LENGTH)
        sealed = self._seal(person.id, secret)
        if factor is None:
            session.add(TotpFactor(person_id=person.id, secret_encrypted=sealed, created_at=now))
        else:  # a new seed: whatever the abandoned one was used for no longer counts
            factor.secret_encrypted, factor.created_at, factor.last_used_step = sealed, now, None
        session.flush()
        uri = _totp(secret).provisioning_uri(name=person.email, issuer_name=self._issuer)
        return TotpEnrolment(secret=secret, provisioning_uri=uri, qr_svg=qr_svg(uri, qr_label))

    def confirm_enrolment(
        self, session: Session, person_id: uuid.UUID, code: str, now: datetime
    ) -> bool:
        """Activate the pending factor once the person proves their app produces its codes."""
        factor = _factor(session, person_id)
        if factor is None or factor.confirmed_at is not None:
            return False
        if not self._accept(session, factor, code, now):
            return False
        factor.confirmed_at = now
        session.flush()
        return True

    def verify(self, session: Session, person_id: uuid.UUID, code: str, now: datetime) -> bool:
        factor = _factor(session, person_id)
        if factor is None or factor.confirmed_at is None:
            return False
        return self._accept(session, factor, code, now)

    def is_enrolled(self, session: Session, person_id: uuid.UUID) -> bool:
        factor = _factor(session, person_id)
        return factor is not None and factor.confirmed_at is not None

    def remove(self, session: Session, person_id: uuid.UUID) -> None:
        session.execute(delete(TotpFactor).where(TotpFactor.person_id == person_id))

    def _accept(self, session: Session, factor: TotpFactor, code: str, now: datetime) -> bool:
        normalised = normalise_code(code)
        if normalised is None:
            return False
        step = self._matching_step(factor, normalised, now)
        return step is not None and _record_step(session, factor.person_id, step)

    def _matching_step(self, factor: TotpFactor, code: str, now: datetime) -> int | None:
        secret = self._open(factor)
        if secret is None:
            return None
        totp = _totp(secret)
        current = totp.timecode(now)
        last = factor.last_used_step
        for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
            # A step at or before the last accepted one is a replay (RFC 6238 §5.2).
            fresh = last is None or step > last
            if fresh and hmac.compare_digest(code, totp.generate_otp(step)):
                return step
        return None

    def _seal(self, person_id: uuid.UUID, secret: str) -> str:
        return self._box.encrypt(secret.encode("ascii"), associated_data=person_id.bytes)

    def _open(self, factor: TotpFactor) -> str | None:
        try:
            seed = self._box.decrypt(
                factor.secret_encrypted, associated_data=factor.person_id.bytes
            )
        except DecryptionError:
            # Tampered, copied from another person, or sealed under another secret key.
            log.warning("totp.seed_undecryptable", person_id=str(factor.person_id))
            return None
        return seed.decode("ascii")


def normalise_code(code: str) -> str | None:
    """The six ASCII digits of a typed code (apps show `123 456`), or None if it is not one."""
    if len(code) > _LONGEST_INPUT:
        return None
    compact = "".join(code.split())
    return compact if _CODE.fullmatch(compact) else None


def qr_svg(uri: str, label: str = DEFAULT_QR_LABEL) -> str:
    """The URI as inline SVG markup for an HTML page: no XML declaration, no script, no style.

    A strict CSP forbids inline scripts and style attributes but not inline SVG presentation
    attributes, which is all segno writes. role="img" with aria-label names it for screen readers.
    """
    import segno  # noqa: PLC0415 - only the enrolment page draws a QR code; not loaded by every worker

    qr = segno.make(uri, error="m")
    markup = qr.svg_inline(scale=1, title=label, omitsize=True, svgclass="totp-qr")
    attributes = (
        f'width="{QR_SIZE_PX}" height="{QR_SIZE_PX}" role="img" '
        f'aria-label="{html.escape(label, quote=True)}" '
    )
    return markup.replace("<svg ", f"<svg {attributes}", 1)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def _factor(session: Session, person_id: uuid.UUID) -> TotpFactor | None:
    query = select(TotpFactor).where(TotpFactor.person_id == person_id)
    return session.scalars(query).one_or_none()


def _record_step(session: Session, person_id: uuid.UUID, step: int) -> bool:
    """Claim `step` as used; False when it (or a later one) was claimed first, also concurrently.

    On PostgreSQL a concurrent UPDATE waits for the first one's commit and then re-checks the
    condition against the new row, so only one of two requests with the same code matches.
    """
    result = session.execute(
        update(TotpFactor)
        .where(
            TotpFactor.person_id == person_id,
            or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session="fetch")
    )
    return rows_affected(result) == 1
