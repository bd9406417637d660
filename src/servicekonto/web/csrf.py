"""CSRF protection for every state-changing form: a signed double-submit token.

The browser gets a random value in an HttpOnly cookie; each form carries HMAC(key, value). A
forged cross-site request can make the browser send the cookie but cannot read it or compute the
form token. `SameSite=Lax` on the cookie and the Origin check are a second and third line.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from servicekonto.security.secrets import Digester

CSRF_COOKIE = "sk_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_MAX_COOKIE_LENGTH = 100


class CsrfProtection:
    def __init__(self, digester: Digester, issuer: str) -> None:
        self._digester = digester
        parts = urlsplit(issuer)
        self._origin = f"{parts.scheme}://{parts.netloc}"

    @staticmethod
    def new_cookie_value() -> str:
        return secrets.token_urlsafe(32)

    def token_for(self, cookie_value: str) -> str:
        return self._digester.digest(cookie_value)

    def verify(self, cookie_value: str | None, submitted: str | None, origin: str | None) -> bool:
        if not cookie_value or not submitted or len(cookie_value) > _MAX_COOKIE_LENGTH:
            return False
        # Browsers send Origin on cross-site POSTs; one that is not ours is refused outright.
        if origin is not None and origin not in {"null", self._origin}:
            return False
        return hmac.compare_digest(self.token_for(cookie_value), submitted)
