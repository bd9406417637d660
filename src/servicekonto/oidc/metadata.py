"""Discovery: OpenID Connect Discovery 1.0 and RFC 8414 metadata, listing only what exists."""

from __future__ import annotations

from typing import Any

from servicekonto.federation.attributes import CLAIMS_BY_SCOPE, VERIFIABLE_CLAIMS
from servicekonto.trust.vocabularies import supported_acr_values

AUTHORIZE_PATH = "/oidc/authorize"
TOKEN_PATH = "/oidc/token"
USERINFO_PATH = "/oidc/userinfo"
INTROSPECTION_PATH = "/oidc/introspect"
REVOCATION_PATH = "/oidc/revoke"
JWKS_PATH = "/oidc/jwks"
LOGOUT_PATH = "/oidc/logout"
PAR_PATH = "/oidc/par"
SECRET_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


def authorization_server_metadata(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": issuer + AUTHORIZE_PATH,
        "token_endpoint": issuer + TOKEN_PATH,
        "userinfo_endpoint": issuer + USERINFO_PATH,
        "jwks_uri": issuer + JWKS_PATH,
        "introspection_endpoint": issuer + INTROSPECTION_PATH,
        "revocation_endpoint": issuer + REVOCATION_PATH,
        "end_session_endpoint": issuer + LOGOUT_PATH,
        "pushed_authorization_request_endpoint": issuer + PAR_PATH,
        "require_pushed_authorization_requests": False,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": False,
        "scopes_supported": ["openid", *CLAIMS_BY_SCOPE, "safe.deposit"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "userinfo_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": [*SECRET_METHODS, "none"],
        "introspection_endpoint_auth_methods_supported": SECRET_METHODS,
        "revocation_endpoint_auth_methods_supported": SECRET_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256"],
        "acr_values_supported": supported_acr_values(),
        "claims_supported": sorted(
            {"sub", "acr", "amr", "auth_time", "iss", "aud", "exp", "iat", "nonce"}
            | {claim for claims in CLAIMS_BY_SCOPE.values() for claim in claims}
        ),
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "prompt_values_supported": ["none", "login", "consent"],
        # OpenID Connect for Identity Assurance 1.0
        "verified_claims_supported": True,
        "trust_frameworks_supported": ["eidas"],
        "evidence_supported": ["electronic_record", "document"],
        "claims_in_verified_claims_supported": list(VERIFIABLE_CLAIMS),
    }
