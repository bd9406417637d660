"""Page rendering: one Jinja2 environment (autoescaping on), the request's language and session.

Every page gets the translator `_`, the language, the signed-in session, a CSRF token and the
links of the language switch. Pages are never cached: they may show personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.accounts.login import CurrentSession
from servicekonto.config import Settings
from servicekonto.i18n.catalog import (
    LANGUAGE_NAMES,
    SUPPORTED_LOCALES,
    Translator,
    negotiate_locale,
)
from servicekonto.web.csrf import CSRF_COOKIE, CsrfProtection

LANGUAGE_COOKIE = "sk_lang"


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("servicekonto.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code: a running server must never pick up a newer one that
        # expects code it does not have (and it saves a stat() per render).
        auto_reload=False,
    )


@dataclass
class Page:
    """What a page handler knows about the request it renders for."""

    request: Request
    settings: Settings
    locale: str
    t: Translator
    current: CurrentSession | None
    csrf_cookie: str
    csrf_token: str
    csrf_cookie_is_new: bool

    @property
    def signed_in(self) -> bool:
        return self.current is not None and not self.current.second_factor_pending


def build_page(request: Request, current: CurrentSession | None) -> Page:
    settings: Settings = request.app.state.settings
    csrf: CsrfProtection = request.app.state.csrf
    explicit = request.cookies.get(LANGUAGE_COOKIE)
    if explicit not in SUPPORTED_LOCALES and current is not None:
        explicit = current.locale
    locale = negotiate_locale(explicit, request.headers.get("accept-language"))
    cookie = request.cookies.get(CSRF_COOKIE)
    is_new = not cookie or len(cookie) > 100
    cookie = CsrfProtection.new_cookie_value() if is_new or cookie is None else cookie
    return Page(
        request=request,
        settings=settings,
        locale=locale,
        t=Translator(locale),
        current=current,
        csrf_cookie=cookie,
        csrf_token=csrf.token_for(cookie),
        csrf_cookie_is_new=is_new,
    )


def render(page: Page, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = (
        environment()
        .get_template(template)
        .render(
            _=page.t,
            page=page,
            locale=page.locale,
            current=page.current if page.signed_in else None,
            csrf_token=page.csrf_token,
            languages=_language_links(page),
            errors=context.pop("errors", {}),
            values=context.pop("values", {}),
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status)
    finish(page, response)
    return response


def finish(page: Page, response: HTMLResponse | RedirectResponse) -> None:
    response.headers["cache-control"] = "no-store"
    response.headers["content-language"] = page.locale
    if page.csrf_cookie_is_new:
        response.set_cookie(
            CSRF_COOKIE,
            page.csrf_cookie,
            httponly=True,
            samesite="lax",
            secure=page.settings.https,
            path="/",
        )


def redirect(page: Page, url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    finish(page, response)
    return response


def safe_next(target: str | None, default: str = "/account") -> str:
    """Only paths on this site: an open redirect would lend our name to phishing."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(char in target for char in "\r\n\\") or len(target) > 500:
        return default
    return target


def _language_links(page: Page) -> list[dict[str, str | bool]]:
    here = quote(page.request.url.path, safe="/")
    return [
        {
            "code": code,
            "name": LANGUAGE_NAMES[code],
            "href": f"/language/{code}?next={here}",
            "current": code == page.locale,
        }
        for code in SUPPORTED_LOCALES
    ]
