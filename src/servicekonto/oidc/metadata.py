"""Authorization server metadata (RFC 8414): only what this server really supports.

The OpenID Connect discovery document (`/.well-known/openid-configuration`) joins it once the
authorization endpoint exists; until then, announcing one would send clients into a wall.
"""

from __future__ import annotations

from typing import Any

TOKEN_PATH = "/oidc/token"
INTROSPECTION_PATH = "/oidc/introspect"
REVOCATION_PATH = "/oidc/revoke"
JWKS_PATH = "/oidc/jwks"
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def authorization_server_metadata(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "token_endpoint": issuer + TOKEN_PATH,
        "jwks_uri": issuer + JWKS_PATH,
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "scopes_supported": ["safe.deposit"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint": issuer + INTROSPECTION_PATH,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint": issuer + REVOCATION_PATH,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
    }
