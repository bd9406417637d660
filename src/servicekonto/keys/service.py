"""Signing keys: created and rotated by the operator, used by every instance through a key ring.

Rotation follows the order a relying party needs to verify every token it receives:

1. `rotate` adds a key and publishes it in the JWKS at once (RFC 7517 §5: a JWK Set), but it
   signs only from `activates_at = now + publish_lead`, so relying parties that cache our JWKS
   have fetched it before the first token signed with it arrives.
2. At `activates_at` the new key signs; every older key of that algorithm gets
   `expires_at = activates_at + keep_published`, longer than any token it signed lives.
3. At `expires_at` the old key leaves the JWKS.

The states are derived from these times (see `models.py`), so every instance switches at the
same moment; a `KeyRing` re-reads the table every `cache_seconds` to see new keys at all.
When no key of an algorithm signs yet, a new key signs at once: a fresh installation has
nothing to publish ahead of and must be able to issue tokens immediately.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy.orm import Session

from servicekonto.audit.service import AuditEntry, record
from servicekonto.clock import Clock
from servicekonto.config import Settings
from servicekonto.errors import ServicekontoError
from servicekonto.keys.models import SigningKey
from servicekonto.keys.repository import SigningKeyRepository
from servicekonto.observability import get_logger
from servicekonto.security.encryption import DecryptionError, SecretBox
from servicekonto.store.engine import Database

SUPPORTED_ALGORITHMS = ("ES256", "RS256")
DEFAULT_ALGORITHM = "ES256"
SEAL_PURPOSE = "signing-key"
# RFC 7518 §3.4: ES256 is ECDSA on P-256 with SHA-256.
EC_CURVE = "P-256"
# RFC 7518 §3.3 asks for at least 2048 bits; 3072 bits match P-256's 128-bit security level.
RSA_KEY_BITS = 3072
SUBJECT_TYPE = "signing_key"

KeyState = Literal["published", "signing", "retiring", "expired"]
JoseKey = ECKey | RSAKey
log = get_logger("servicekonto.keys")


class UnsupportedAlgorithmError(ServicekontoError):
    """An algorithm we do not sign with (only those in SUPPORTED_ALGORITHMS)."""


class NoSigningKeyError(ServicekontoError):
    """No readable key of the algorithm signs now (none created, or none decrypts)."""


@dataclass(frozen=True)
class KeyInfo:
    """What an operator may see of a key: never the private part."""

    kid: str
    alg: str
    state: KeyState
    created_at: datetime
    activates_at: datetime
    expires_at: datetime | None

    def as_json(self) -> dict[str, str | None]:
        return {
            "kid": self.kid,
            "alg": self.alg,
            "state": self.state,
            "created_at": self.created_at.isoformat(),
            "activates_at": self.activates_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


@dataclass(frozen=True)
class ActiveKey:
    """The key to sign with now; `kid` goes into the JWS header (RFC 7515 §4.1.4)."""

    kid: str
    alg: str
    key: JoseKey
    # When the key was made: a SAML certificate for it starts here, identically on every instance.
    created_at: datetime | None = None


class KeyService:
    """The operator's use cases: rotate, bootstrap, list."""

    def __init__(self, settings: Settings, database: Database, clock: Clock) -> None:
        self._box = signing_key_box(settings)
        self._keys = settings.keys
        self._database = database
        self._clock = clock

    def rotate(self, alg: str = DEFAULT_ALGORITHM, actor: str = "cli") -> KeyInfo:
        """Add a key of `alg`: published now, signing after the publish lead (see module doc)."""
        require_supported(alg)
        key = generate_key(alg)  # before the lock: an RSA key takes a moment
        with self._database.unit_of_work() as uow:
            repository = SigningKeyRepository(uow.session)
            repository.lock_for_writing()
            now = self._clock.now()
            lead = self._lead(repository, alg, now)
            row = repository.add(self._seal(key, alg, now, now + lead))
            retiring = self._retire_older(repository, row)
            self._audit(uow.session, "keys.rotated", actor, row, retiring)
            uow.commit()
        return key_info(row, "signing" if row.activates_at <= now else "published")

    def ensure_keys(self) -> None:
        """Create one key per supported algorithm that has none published; signs at once.

        Idempotent, and safe when several processes start together: keys are generated outside
        the transaction, then the table lock (`lock_for_writing`) serialises the writers and each
        re-checks under it, so the second process finds the first one's keys and adds nothing.
        """
        missing = self._missing_algorithms()
        if not missing:
            return
        generated = {alg: generate_key(alg) for alg in missing}
        with self._database.unit_of_work() as uow:
            repository = SigningKeyRepository(uow.session)
            repository.lock_for_writing()
            now = self._clock.now()
            for alg, key in generated.items():
                if not repository.published(now, alg):
                    row = repository.add(self._seal(key, alg, now, now))
                    self._audit(uow.session, "keys.created", "system", row, [])
            uow.commit()

    def list_keys(self) -> list[KeyInfo]:
        now = self._clock.now()
        with self._database.session() as session:
            rows = SigningKeyRepository(session).all()
        signers = signing_kids(rows, now)
        return [key_info(row, key_state(row, signers, now)) for row in rows]

    def _lead(self, repository: SigningKeyRepository, alg: str, now: datetime) -> timedelta:
        if repository.latest_active(alg, now) is None:
            return timedelta(0)
        return timedelta(minutes=self._keys.publish_lead_minutes)

    def _seal(self, key: JoseKey, alg: str, now: datetime, activates_at: datetime) -> SigningKey:
        kid = key.thumbprint()  # RFC 7638: SHA-256 over the required members, base64url
        private_json = json.dumps(key.as_dict(private=True), separators=(",", ":"))
        return SigningKey(
            kid=kid,
            alg=alg,
            # The kid as associated data: a sealed key copied to another row does not open.
            private_jwk_sealed=self._box.encrypt(private_json.encode(), kid.encode()),
            public_jwk=public_jwk(key, kid, alg),
            created_at=now,
            activates_at=activates_at,
            expires_at=None,
        )

    def _retire_older(self, repository: SigningKeyRepository, new: SigningKey) -> list[str]:
        expires_at = new.activates_at + timedelta(hours=self._keys.keep_published_hours)
        retiring = [old for old in repository.without_expiry(new.alg) if old.kid != new.kid]
        for old in retiring:
            old.expires_at = expires_at
        return [old.kid for old in retiring]

    def _missing_algorithms(self) -> list[str]:
        now = self._clock.now()
        with self._database.session() as session:
            repository = SigningKeyRepository(session)
            return [alg for alg in SUPPORTED_ALGORITHMS if not repository.published(now, alg)]

    def _audit(
        self, session: Session, action: str, actor: str, row: SigningKey, retiring: list[str]
    ) -> None:
        details = {
            "alg": row.alg,
            "activates_at": row.activates_at.isoformat(),
            "retiring": retiring,
        }
        entry = AuditEntry(
            action=action,
            actor=actor,
            subject_type=SUBJECT_TYPE,
            subject_id=row.kid,
            details=details,
        )
        record(session, self._clock, entry)


@dataclass(frozen=True)
class _Material:
    """What decrypting a stored key yields; kept across reloads while the sealed value stays."""

    private: JoseKey
    public: JoseKey  # the same key without its private members
    jwk: dict[str, Any]


@dataclass(frozen=True)
class _OpenedKey:
    row: SigningKey  # as read at the last reload (detached, read only): times may change
    material: _Material


@dataclass(frozen=True)
class _Snapshot:
    loaded_at: datetime
    keys: tuple[_OpenedKey, ...]


class KeyRing:
    """The published keys of one app instance, decrypted and cached for request handlers.

    The table is re-read once `cache_seconds` have passed, so a rotation made elsewhere (by
    `servicekonto keys rotate`, on another instance) is seen without a restart. Which key signs
    is decided on every call from the current time, so cached keys switch at `activates_at`.
    Thread-safe: one thread reloads under a lock, the others keep reading the old snapshot.
    """

    def __init__(self, settings: Settings, database: Database, clock: Clock) -> None:
        self._box = signing_key_box(settings)
        self._ttl = timedelta(seconds=settings.keys.cache_seconds)
        self._database = database
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        # Decrypted keys by (kid, sealed value), so a reload decrypts only what is new;
        # None marks a key that did not open (logged once).
        self._decrypted: dict[tuple[str, str], _Material | None] = {}
        self._jwks_cache: tuple[tuple[str, ...], bytes] | None = None

    def signing_key(self, alg: str = DEFAULT_ALGORITHM) -> ActiveKey:
        """The newest activated, unexpired, readable key of `alg`."""
        require_supported(alg)
        now = self._clock.now()
        chosen = _newest_active(self._current(now).keys, alg, now)
        if chosen is None:  # perhaps created since the last read (a fresh installation)
            chosen = _newest_active(self._current(now, force=True).keys, alg, now)
        if chosen is None:
            raise NoSigningKeyError(f"no {alg} signing key is available")
        return _active(chosen)

    def published_keys(self, alg: str) -> list[ActiveKey]:
        """Every published key of `alg`, newest first: SAML metadata lists them all, so a
        provider trusts the next key before it signs (the same lead as the JWKS)."""
        require_supported(alg)
        now = self._clock.now()
        return [_active(key) for key in self._published(now) if key.row.alg == alg]

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JWK Set (RFC 7517 §5) of every published key: public members, kid, alg, use."""
        now = self._clock.now()
        return {"keys": [dict(key.material.jwk) for key in self._published(now)]}

    def jwks_bytes(self) -> bytes:
        """The JWK Set, serialised once per set of published keys (it is fetched very often)."""
        now = self._clock.now()
        published = self._published(now)
        kids = tuple(key.row.kid for key in published)
        cached = self._jwks_cache
        if cached is None or cached[0] != kids:
            document = {"keys": [dict(key.material.jwk) for key in published]}
            cached = (kids, json.dumps(document, separators=(",", ":")).encode())
            self._jwks_cache = cached
        return cached[1]

    def key_for_kid(self, kid: str) -> JoseKey | None:
        """The public key of a published kid, to verify a token we issued (id_token_hint)."""
        now = self._clock.now()
        return next(
            (key.material.public for key in self._published(now) if key.row.kid == kid), None
        )

    def is_fresh(self) -> bool:
        """True when the keys were read recently: using them reads nothing now."""
        snapshot = self._snapshot
        return snapshot is not None and self._fresh(snapshot, self._clock.now())

    def _published(self, now: datetime) -> list[_OpenedKey]:
        return [key for key in self._current(now).keys if key.row.is_published(now)]

    def _current(self, now: datetime, *, force: bool = False) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and not force and self._fresh(snapshot, now):
            return snapshot
        with self._lock:
            snapshot = self._snapshot  # another thread may have reloaded while we waited
            if snapshot is not None and not force and self._fresh(snapshot, now):
                return snapshot
            snapshot = self._load(now)
            self._snapshot = snapshot
            return snapshot

    def _fresh(self, snapshot: _Snapshot, now: datetime) -> bool:
        return snapshot.loaded_at <= now < snapshot.loaded_at + self._ttl

    def _load(self, now: datetime) -> _Snapshot:
        with self._database.session() as session:
            rows = SigningKeyRepository(session).published(now)
        decrypted = {(row.kid, row.private_jwk_sealed): self._decrypt(row) for row in rows}
        self._decrypted = decrypted  # forgets keys no longer published
        keys = (
            _OpenedKey(row, material)
            for row in rows
            if (material := decrypted[row.kid, row.private_jwk_sealed]) is not None
        )
        return _Snapshot(loaded_at=now, keys=_jwks_order(keys))

    def _decrypt(self, row: SigningKey) -> _Material | None:
        cache_key = (row.kid, row.private_jwk_sealed)
        if cache_key in self._decrypted:
            return self._decrypted[cache_key]
        try:
            private = open_private_key(self._box, row)
        except (DecryptionError, JoseError, ValueError, TypeError, KeyError) as error:
            # The reason names the failure, never the key material or the secret.
            log.error(
                "signing key unreadable, skipped", kid=row.kid, alg=row.alg, reason=_why(error)
            )
            return None
        public = type(private).import_key(private.as_dict(private=False))
        return _Material(private, public, public_jwk(private, row.kid, row.alg))


def signing_key_box(settings: Settings) -> SecretBox:
    if settings.secret_key is None:
        raise ValueError("signing keys need the secret key (with_secret_key)")
    return SecretBox(settings.secret_key.get_secret_value(), SEAL_PURPOSE)


def require_supported(alg: str) -> None:
    if alg not in SUPPORTED_ALGORITHMS:
        supported = ", ".join(SUPPORTED_ALGORITHMS)
        raise UnsupportedAlgorithmError(f"unsupported algorithm {alg!r}; use one of {supported}")


def generate_key(alg: str) -> JoseKey:
    require_supported(alg)
    if alg == "ES256":
        return ECKey.generate_key(EC_CURVE)
    return RSAKey.generate_key(RSA_KEY_BITS)


def public_jwk(key: JoseKey, kid: str, alg: str) -> dict[str, Any]:
    """RFC 7517 §4 members of the public key; `use: sig` (§4.2) since we only sign with it."""
    return dict(key.as_dict(private=False, kid=kid, alg=alg, use="sig"))


def open_private_key(box: SecretBox, row: SigningKey) -> JoseKey:
    """Decrypt a stored key and prove it is the one its kid names (RFC 7638 thumbprint)."""
    members = json.loads(box.decrypt(row.private_jwk_sealed, row.kid.encode()))
    key: JoseKey = (ECKey if row.alg == "ES256" else RSAKey).import_key(members)
    if not key.is_private or key.thumbprint() != row.kid:
        raise ValueError("the stored key does not match its kid")
    return key


def signing_kids(rows: Iterable[SigningKey], now: datetime) -> set[str]:
    """The kid that signs at `now`, per algorithm."""
    active = [row for row in rows if row.is_active(now)]
    newest = (_newest(row for row in active if row.alg == alg) for alg in SUPPORTED_ALGORITHMS)
    return {row.kid for row in newest if row is not None}


def key_state(row: SigningKey, signers: set[str], now: datetime) -> KeyState:
    if not row.is_published(now):
        return "expired"
    if row.activates_at > now:
        return "published"
    return "signing" if row.kid in signers else "retiring"


def key_info(row: SigningKey, state: KeyState) -> KeyInfo:
    return KeyInfo(
        kid=row.kid,
        alg=row.alg,
        state=state,
        created_at=row.created_at,
        activates_at=row.activates_at,
        expires_at=row.expires_at,
    )


def _newest(rows: Iterable[SigningKey]) -> SigningKey | None:
    # The same order as the repository's: created last, then activated last.
    return max(rows, key=lambda row: (row.created_at, row.activates_at, row.kid), default=None)


def _active(opened: _OpenedKey) -> ActiveKey:
    return ActiveKey(
        kid=opened.row.kid,
        alg=opened.row.alg,
        key=opened.material.private,
        created_at=opened.row.created_at,
    )


def _newest_active(keys: Iterable[_OpenedKey], alg: str, now: datetime) -> _OpenedKey | None:
    candidates = [key for key in keys if key.row.alg == alg and key.row.is_active(now)]
    newest = _newest(key.row for key in candidates)
    return next((key for key in candidates if key.row is newest), None)


def _jwks_order(keys: Iterable[_OpenedKey]) -> tuple[_OpenedKey, ...]:
    """ES256 first (our default), then the newest key first within an algorithm."""
    by_age = sorted(keys, key=lambda key: (key.row.created_at, key.row.activates_at), reverse=True)
    return tuple(sorted(by_age, key=lambda key: SUPPORTED_ALGORITHMS.index(key.row.alg)))


def _why(error: Exception) -> str:
    return str(error) if isinstance(error, DecryptionError) else type(error).__name__
