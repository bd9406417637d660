"""Passkeys and security keys as a second factor (W3C WebAuthn Level 2, via py_webauthn).

Each ceremony is two requests: the options (with a fresh challenge, kept in the login session
for five minutes) and the browser's answer, checked against that challenge. A challenge is
single-use (WebAuthn §13.4.3): it is taken out of the login session before the answer is
examined, under a row lock, so an answer can be checked at most once, whatever its outcome.
The caller should therefore commit also after a PasskeyError, or the consumption is undone.

Everything that can go wrong is a PasskeyError whose `message_id` names the user-facing text
(STYLE habit 12); its message is private detail for the log. Malformed browser input never
escapes as another exception type.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from webauthn.helpers.structs import (
        AuthenticationCredential,
        PublicKeyCredentialDescriptor,
        RegistrationCredential,
    )

from servicekonto.accounts.models import LoginSession, Person, WebAuthnCredential
from servicekonto.errors import ServicekontoError
from servicekonto.observability import get_logger
from servicekonto.store.results import rows_affected

log = get_logger(__name__)

CHALLENGE_LIFETIME = timedelta(minutes=5)
# A real answer is a few kilobytes; anything far larger is not worth parsing.
MAX_CREDENTIAL_JSON = 64 * 1024
NAME_MAX_LENGTH = 100
DEFAULT_NAME = "Passkey"
# py_webauthn (with cbor2, pyOpenSSL and asn1 parsers) is imported by the methods that need it:
# at module level it cost every worker 5 MiB, also those that only ever serve tokens.


class PasskeyError(ServicekontoError):
    """A ceremony failed; `message_id` is stable and names the text shown to the user."""

    FAILED = "passkey.failed"
    CHALLENGE_MISSING = "passkey.challenge_missing"
    CHALLENGE_EXPIRED = "passkey.challenge_expired"
    UNKNOWN_CREDENTIAL = "passkey.unknown_credential"
    ALREADY_REGISTERED = "passkey.already_registered"
    CLONED_AUTHENTICATOR = "passkey.cloned_authenticator"

    def __init__(self, message_id: str, detail: str) -> None:
        super().__init__(detail)
        self.message_id = message_id


class Purpose(StrEnum):
    REGISTER = "register"
    AUTHENTICATE = "authenticate"


class PasskeyService:
    """Registration and authentication ceremonies for one relying party (rp_id and origin)."""

    def __init__(self, rp_id: str, rp_name: str, origin: str) -> None:
        self._rp_id = rp_id
        self._rp_name = rp_name
        self._origin = origin

    def registration_options(
        self, session: Session, person: Person, login_session: LoginSession, now: datetime
    ) -> str:
        """JSON for navigator.credentials.create(); the challenge waits in the login session."""
        _require_owner(login_session, person.id)
        from webauthn import generate_registration_options, options_to_json  # noqa: PLC0415
        from webauthn.helpers.structs import (  # noqa: PLC0415
            AuthenticatorSelectionCriteria,
            ResidentKeyRequirement,
            UserVerificationRequirement,
        )

        options = generate_registration_options(
            rp_id=self._rp_id,
            rp_name=self._rp_name,
            # WebAuthn §14.6.1: the user handle must not identify the person; a random UUID.
            user_id=person.id.bytes,
            user_name=person.email,
            user_display_name=f"{person.given_names} {person.family_name}",
            timeout=_timeout_ms(),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            # WebAuthn §5.4: an authenticator already holding one of these refuses a second.
            exclude_credentials=[_descriptor(c) for c in self.list_credentials(session, person.id)],
        )
        _store_challenge(session, login_session, Purpose.REGISTER, options.challenge, now)
        return options_to_json(options)

    def register(
        self,
        session: Session,
        person: Person,
        login_session: LoginSession,
        credential_json: str,
        *,
        name: str,
        now: datetime,
    ) -> WebAuthnCredential:
        """Check the browser's answer to the registration options and store the new key."""
        challenge = _take_challenge(session, login_session, person.id, Purpose.REGISTER, now)
        from webauthn import verify_registration_response  # noqa: PLC0415
        from webauthn.helpers import parse_registration_credential_json  # noqa: PLC0415

        with _rejected_as_passkey_error():
            parsed = parse_registration_credential_json(_bounded(credential_json))
            verified = verify_registration_response(
                credential=parsed,
                expected_challenge=challenge,
                expected_rp_id=self._rp_id,
                expected_origin=self._origin,
            )
        if _by_credential_id(session, verified.credential_id) is not None:
            raise PasskeyError(PasskeyError.ALREADY_REGISTERED, "credential id already registered")
        credential = WebAuthnCredential(
            person_id=person.id,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=_transports(parsed),
            name=_clean_name(name),
            created_at=now,
        )
        session.add(credential)
        session.flush()
        return credential

    def authentication_options(
        self,
        session: Session,
        person_id: uuid.UUID,
        login_session: LoginSession,
        now: datetime,
    ) -> str:
        """JSON for navigator.credentials.get(), limited to the person's own credentials."""
        _require_owner(login_session, person_id)
        from webauthn import generate_authentication_options, options_to_json  # noqa: PLC0415
        from webauthn.helpers.structs import UserVerificationRequirement  # noqa: PLC0415

        options = generate_authentication_options(
            rp_id=self._rp_id,
            timeout=_timeout_ms(),
            allow_credentials=[_descriptor(c) for c in self.list_credentials(session, person_id)],
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        _store_challenge(session, login_session, Purpose.AUTHENTICATE, options.challenge, now)
        return options_to_json(options)

    def authenticate(
        self,
        session: Session,
        person_id: uuid.UUID,
        login_session: LoginSession,
        credential_json: str,
        now: datetime,
    ) -> WebAuthnCredential:
        """Check an assertion by one of the person's credentials; returns that credential."""
        challenge = _take_challenge(session, login_session, person_id, Purpose.AUTHENTICATE, now)
        from webauthn import verify_authentication_response  # noqa: PLC0415
        from webauthn.helpers import parse_authentication_credential_json  # noqa: PLC0415

        with _rejected_as_passkey_error():
            parsed = parse_authentication_credential_json(_bounded(credential_json))
        stored = _own_credential(session, person_id, parsed)
        with _rejected_as_passkey_error():
            verified = verify_authentication_response(
                credential=parsed,
                expected_challenge=challenge,
                expected_rp_id=self._rp_id,
                expected_origin=self._origin,
                credential_public_key=stored.public_key,
                # Zero turns the library's own counter check off: ours below runs only after
                # the signature is proven, and reports a clone with its own message id.
                credential_current_sign_count=0,
            )
        _check_sign_count(stored, verified.new_sign_count)
        stored.sign_count = verified.new_sign_count
        stored.last_used_at = now
        session.flush()
        return stored

    def list_credentials(self, session: Session, person_id: uuid.UUID) -> list[WebAuthnCredential]:
        query = (
            select(WebAuthnCredential)
            .where(WebAuthnCredential.person_id == person_id)
            .order_by(WebAuthnCredential.created_at, WebAuthnCredential.id)
        )
        return list(session.scalars(query))

    def remove(self, session: Session, person_id: uuid.UUID, credential_uuid: uuid.UUID) -> bool:
        """Delete one of the person's credentials; False if there is no such credential."""
        result = session.execute(
            delete(WebAuthnCredential).where(
                WebAuthnCredential.id == credential_uuid,
                WebAuthnCredential.person_id == person_id,
            )
        )
        return rows_affected(result) == 1


# --- challenges ------------------------------------------------------------------------------


def _store_challenge(
    session: Session, login_session: LoginSession, purpose: Purpose, challenge: bytes, now: datetime
) -> None:
    from webauthn.helpers import bytes_to_base64url  # noqa: PLC0415

    login_session.webauthn_challenge = {
        "purpose": purpose.value,
        "challenge": bytes_to_base64url(challenge),
        "expires_at": (now + CHALLENGE_LIFETIME).isoformat(),
    }
    session.flush()


def _take_challenge(
    session: Session,
    login_session: LoginSession,
    person_id: uuid.UUID,
    purpose: Purpose,
    now: datetime,
) -> bytes:
    """Remove the pending challenge from the session and return it if it fits this ceremony.

    The row lock makes a second request with the same challenge wait for the first one's commit
    and then find nothing (PostgreSQL; SQLite lets one writer at a time anyway).
    """
    _require_owner(login_session, person_id)
    session.flush()
    session.refresh(login_session, with_for_update=True)
    pending = login_session.webauthn_challenge
    login_session.webauthn_challenge = None
    session.flush()
    return _valid_challenge(pending, purpose, now)


def _valid_challenge(pending: dict[str, Any] | None, purpose: Purpose, now: datetime) -> bytes:
    if not pending or pending.get("purpose") != purpose.value:
        raise PasskeyError(PasskeyError.CHALLENGE_MISSING, f"no pending {purpose} challenge")
    from webauthn.helpers import base64url_to_bytes  # noqa: PLC0415

    try:
        expires_at = datetime.fromisoformat(pending["expires_at"])
        challenge = base64url_to_bytes(pending["challenge"])
    except (KeyError, TypeError, ValueError):
        raise PasskeyError(PasskeyError.CHALLENGE_MISSING, "malformed pending challenge") from None
    if now >= expires_at:
        raise PasskeyError(PasskeyError.CHALLENGE_EXPIRED, f"{purpose} challenge expired")
    return challenge


def _require_owner(login_session: LoginSession, person_id: uuid.UUID) -> None:
    if login_session.person_id != person_id:
        raise PasskeyError(PasskeyError.FAILED, "login session belongs to another person")


def _timeout_ms() -> int:
    return int(CHALLENGE_LIFETIME.total_seconds() * 1000)


# --- checks ----------------------------------------------------------------------------------


@contextmanager
def _rejected_as_passkey_error() -> Iterator[None]:
    # py_webauthn parses bytes chosen by the browser (JSON, CBOR, COSE, ASN.1); not every way
    # such input can be malformed ends in its own exception type, and none may become a 500.
    try:
        yield
    except PasskeyError:
        raise
    except Exception as error:
        raise PasskeyError(PasskeyError.FAILED, f"{type(error).__name__}: {error}") from error


def _bounded(credential_json: str) -> str:
    if len(credential_json) > MAX_CREDENTIAL_JSON:
        raise PasskeyError(PasskeyError.FAILED, "credential JSON too large")
    return credential_json


def _own_credential(
    session: Session, person_id: uuid.UUID, parsed: AuthenticationCredential
) -> WebAuthnCredential:
    stored = _by_credential_id(session, parsed.raw_id)
    if stored is None or stored.person_id != person_id:
        raise PasskeyError(PasskeyError.UNKNOWN_CREDENTIAL, "credential unknown for this person")
    # WebAuthn §7.2 step 6: a returned user handle must be the one the credential was made for.
    user_handle = parsed.response.user_handle
    if user_handle is not None and user_handle != person_id.bytes:
        raise PasskeyError(PasskeyError.FAILED, "user handle does not match the person")
    return stored


def _check_sign_count(stored: WebAuthnCredential, new_count: int) -> None:
    # WebAuthn §7.2 step 21 (§6.1.1): once either counter is non-zero it must grow; if it did
    # not, two authenticators share this private key, so one of them is a clone.
    if (new_count or stored.sign_count) and new_count <= stored.sign_count:
        log.warning(
            "passkey.cloned_authenticator_suspected",
            credential=str(stored.id),
            stored_count=stored.sign_count,
            new_count=new_count,
        )
        raise PasskeyError(PasskeyError.CLONED_AUTHENTICATOR, "signature counter did not increase")


# --- storage helpers -------------------------------------------------------------------------


def _by_credential_id(session: Session, credential_id: bytes) -> WebAuthnCredential | None:
    query = select(WebAuthnCredential).where(WebAuthnCredential.credential_id == credential_id)
    return session.scalars(query).one_or_none()


def _descriptor(credential: WebAuthnCredential) -> PublicKeyCredentialDescriptor:
    from webauthn.helpers.structs import (  # noqa: PLC0415
        AuthenticatorTransport,
        PublicKeyCredentialDescriptor,
    )

    known = {transport.value: transport for transport in AuthenticatorTransport}
    transports = [known[t] for t in credential.transports or [] if t in known]
    return PublicKeyCredentialDescriptor(id=credential.credential_id, transports=transports)


def _transports(parsed: RegistrationCredential) -> list[str]:
    return [transport.value for transport in parsed.response.transports or []]


def _clean_name(name: str) -> str:
    return " ".join(name.split())[:NAME_MAX_LENGTH] or DEFAULT_NAME
