"""Client keys published at a `jwks_uri` (OIDC Registration §2, RFC 7591 §2), fetched and cached.

A procedure that rotates its key publishes the new one and signs with it at once; an assertion
naming a kid we have not seen makes us fetch again, at most once a minute per URI, so nobody can
use our token endpoint to hammer a procedure's web server. Between fetches the keys are cached;
when a refresh fails, the last good keys keep working for a day rather than locking the
procedure out because its web server hiccupped.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from joserfc.jwk import Key, KeySet, KeySetSerialization
from pydantic_core import PydanticCustomError

from servicekonto.clients.schemas import check_public_jwks
from servicekonto.clock import Clock
from servicekonto.observability import get_logger

FRESH_FOR = timedelta(minutes=5)
STALE_AT_MOST = timedelta(days=1)
REFETCH_COOLDOWN = timedelta(minutes=1)
MAX_BYTES = 64 * 1024  # a JWKS of a handful of RSA keys is a few kB
TIMEOUT = httpx.Timeout(3.0)
log = get_logger(__name__)

Fetch = Callable[[str], dict[str, Any]]


class RemoteJwksError(Exception):
    """The procedure's JWKS could not be fetched or is not a JWKS of public signing keys."""


class UnknownClientKeyError(Exception):
    """No key of the procedure's JWKS matches the assertion's header."""


def fetch_jwks(uri: str, http: httpx.Client) -> dict[str, Any]:
    """GET the JWKS without following redirects, refusing bodies beyond MAX_BYTES."""
    try:
        with http.stream("GET", uri, headers={"accept": "application/json"}) as response:
            if response.status_code != httpx.codes.OK:
                raise RemoteJwksError(f"the JWKS URI answered HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise RemoteJwksError(f"the JWKS is larger than {MAX_BYTES} bytes")
    except (httpx.HTTPError, OSError) as error:
        raise RemoteJwksError(f"the JWKS URI could not be read ({type(error).__name__})") from None
    return _parse(bytes(body))


def _parse(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        raise RemoteJwksError("the JWKS URI did not answer JSON") from None
    if not isinstance(document, dict):
        raise RemoteJwksError("the JWKS URI did not answer a JSON object")
    try:
        return check_public_jwks(document)
    except PydanticCustomError as error:
        raise RemoteJwksError(f"the JWKS is not usable: {error}") from None


def https_fetcher() -> Fetch:
    http = httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    return lambda uri: fetch_jwks(uri, http)


@dataclass
class _Cached:
    keys: KeySet
    fetched_at: datetime
    attempted_at: datetime


class RemoteJwks:
    """Per-process cache of procedures' published keys; safe to share between threads."""

    def __init__(self, clock: Clock, fetch: Fetch | None = None) -> None:
        self._clock = clock
        self._fetch = fetch or https_fetcher()
        self._lock = threading.Lock()
        # One lock per URI: a slow procedure's web server only delays that procedure's logins.
        self._uri_locks: dict[str, threading.Lock] = {}
        self._cache: dict[str, _Cached] = {}

    def key_for(self, uri: str, kid: str | None) -> Key:
        """The key the assertion names, fetching the JWKS when it is unknown or outdated."""
        now = self._clock.now()
        with self._lock_for(uri):
            cached = self._cache.get(uri)
            if cached is None or now - cached.fetched_at > FRESH_FOR:
                cached = self._refresh(uri, cached, now)
            key = _pick(cached.keys, kid)
            if key is None and now - cached.attempted_at > REFETCH_COOLDOWN:
                cached = self._refresh(uri, cached, now)
                key = _pick(cached.keys, kid)
        if key is None:
            raise UnknownClientKeyError("no key of the client's JWKS matches the assertion")
        return key

    def _lock_for(self, uri: str) -> threading.Lock:
        with self._lock:
            return self._uri_locks.setdefault(uri, threading.Lock())

    def _refresh(self, uri: str, cached: _Cached | None, now: datetime) -> _Cached:
        try:
            document = self._fetch(uri)
        except RemoteJwksError as error:
            log.warning("client JWKS not refreshed", jwks_uri=uri, reason=str(error))
            if cached is None or now - cached.fetched_at > STALE_AT_MOST:
                self._cache.pop(uri, None)
                raise
            cached.attempted_at = now
            return cached
        keys = KeySet.import_key_set(cast("KeySetSerialization", document))
        fresh = _Cached(keys, now, now)
        self._cache[uri] = fresh
        return fresh


def _pick(keys: KeySet, kid: str | None) -> Key | None:
    if kid is not None:
        return next((key for key in keys.keys if key.kid == kid), None)
    # Without a kid the choice must be unambiguous (RFC 7517 §4.5 makes kid optional).
    return keys.keys[0] if len(keys.keys) == 1 else None
