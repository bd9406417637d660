"""The UserInfo answer (OIDC Core §5.3), framework-free: plain JSON, or a signed JWT.

A procedure that registered `userinfo_signed_response_alg` gets `application/jwt` signed with
our key, carrying `iss` and `aud` so it cannot be replayed to another procedure (§5.3.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from joserfc import jwt

from servicekonto.federation.attributes import claims_for, verified_claims_for
from servicekonto.oidc.grants import organisation_claim_for, requested_for
from servicekonto.oidc.server import ProviderServer

JSON_TYPE = "application/json"
JWT_TYPE = "application/jwt"


@dataclass(frozen=True)
class UserinfoAnswer:
    """`claims` for a JSON answer, `signed` for a JWT one; neither when the token is refused."""

    claims: dict[str, Any] | None = None
    signed: str | None = None

    @property
    def refused(self) -> bool:
        return self.claims is None and self.signed is None


REFUSED = UserinfoAnswer()


def answer_userinfo(server: ProviderServer, access_token: str) -> UserinfoAnswer:
    record = server.find_token(access_token) if access_token else None
    if record is None or record.claims.person_id is None:
        return REFUSED
    # A disabled procedure gets nothing more, even with a token that has not expired yet.
    client = server.query_client(record.claims.client_id)
    person = server.people(record.claims.person_id)
    if client is None or person is None:
        return REFUSED
    scopes = set(record.claims.scope.split())
    claims = {"sub": record.claims.subject, **claims_for(person, scopes)}
    organisation = organisation_claim_for(
        server, record.claims.person_id, record.claims.claims_request
    )
    if "organisation" in scopes and organisation is not None:
        claims["organisation"] = organisation
    asked = requested_for(record.claims.claims_request, "userinfo")
    verified = verified_claims_for(person, asked, scopes)
    if verified is not None:
        claims["verified_claims"] = verified
    alg = client.client.userinfo_signed_response_alg
    if alg is None:
        return UserinfoAnswer(claims=claims)
    return UserinfoAnswer(signed=_sign(server, claims, client.get_client_id(), alg))


def _sign(server: ProviderServer, claims: dict[str, Any], client_id: str, alg: str) -> str:
    signing = server.keys.signing_key(alg)
    now = int(server.clock.now().timestamp())
    body = {**claims, "iss": server.issuer, "aud": client_id, "iat": now}
    header = {"alg": signing.alg, "kid": signing.kid, "typ": "JWT"}
    return jwt.encode(header, body, signing.key, algorithms=[signing.alg])
