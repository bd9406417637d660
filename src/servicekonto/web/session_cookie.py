"""The session cookie: a random token only, HttpOnly, SameSite=Lax, Secure over https."""

from __future__ import annotations

from starlette.responses import Response

from servicekonto.config import Settings


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    # No Max-Age: the cookie ends with the browser; the server enforces the real lifetimes.
    response.set_cookie(
        settings.session.cookie_name,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.https,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        settings.session.cookie_name, httponly=True, samesite="lax", secure=settings.https, path="/"
    )
