"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.4-2.6).

When sessions end, every procedure that received a code from them and registered a
`backchannel_logout_uri` gets a signed logout token. Delivery is best effort and happens off the
request thread, so a slow procedure never slows down someone logging out.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from joserfc import jwt

from servicekonto.clients.service import ClientService
from servicekonto.clock import Clock
from servicekonto.keys.service import KeyRing
from servicekonto.observability import get_logger
from servicekonto.oidc.adapters import RegisteredClient
from servicekonto.oidc.grants import subject_for
from servicekonto.store.engine import Database
from servicekonto.tokens.codes import clients_of_sessions

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
TIMEOUT_SECONDS = 5.0
log = get_logger(__name__)

Sender = Callable[[str, str], None]


def post_logout_token(uri: str, token: str) -> None:
    response = httpx.post(uri, data={"logout_token": token}, timeout=TIMEOUT_SECONDS)
    response.raise_for_status()


class BackChannelLogout:
    def __init__(
        self,
        database: Database,
        clients: ClientService,
        keys: KeyRing,
        clock: Clock,
        *,
        issuer: str,
        pairwise_key: bytes,
        sender: Sender = post_logout_token,
        background: bool = True,
    ) -> None:
        self._database = database
        self._clients = clients
        self._keys = keys
        self._clock = clock
        self._issuer = issuer
        self._pairwise_key = pairwise_key
        self._sender = sender
        self._pool = ThreadPoolExecutor(max_workers=2) if background else None

    def sessions_ended(self, session_ids: list[uuid.UUID], person_id: uuid.UUID) -> None:
        for client_id in clients_of_sessions(self._database, session_ids):
            client = self._clients.get(client_id)
            if client is None or client.disabled or not client.backchannel_logout_uri:
                continue
            registered = RegisteredClient(client, self._clients.authenticate_secret)
            token = self.logout_token(registered, person_id)
            self._deliver(client.backchannel_logout_uri, token, client_id)

    def logout_token(self, client: RegisteredClient, person_id: uuid.UUID) -> str:
        signing = self._keys.signing_key(client.client.id_token_signed_response_alg)
        now = int(self._clock.now().timestamp())
        claims = {
            "iss": self._issuer,
            "aud": client.get_client_id(),
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(16),
            "sub": subject_for(client, person_id, self._pairwise_key),
            "events": {LOGOUT_EVENT: {}},
        }
        # §2.4: typ logout+jwt keeps a logout token from passing as an ID token; no nonce.
        header = {"alg": signing.alg, "kid": signing.kid, "typ": "logout+jwt"}
        return jwt.encode(header, claims, signing.key, algorithms=[signing.alg])

    def _deliver(self, uri: str, token: str, client_id: str) -> None:
        if self._pool is None:
            self._send(uri, token, client_id)
        else:
            self._pool.submit(self._send, uri, token, client_id)

    def _send(self, uri: str, token: str, client_id: str) -> None:
        try:
            self._sender(uri, token)
        except (httpx.HTTPError, OSError) as error:
            log.warning(
                "back-channel logout not delivered",
                client_id=client_id,
                reason=type(error).__name__,
            )
