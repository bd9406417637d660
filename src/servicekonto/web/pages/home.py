"""The start page and the language switch."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.i18n.catalog import SUPPORTED_LOCALES
from servicekonto.web.dependencies import AccountsDep, PageDep
from servicekonto.web.rendering import LANGUAGE_COOKIE, redirect, render, safe_next

router = APIRouter(include_in_schema=False)
ONE_YEAR = 365 * 24 * 3600


@router.get("/", response_class=HTMLResponse)
def start(page: PageDep) -> HTMLResponse:
    return render(page, "start.html")


@router.get("/language/{code}")
def choose_language(
    code: str, page: PageDep, accounts: AccountsDep, next: str = "/"
) -> RedirectResponse:
    response = redirect(page, safe_next(next, default="/"))
    if code in SUPPORTED_LOCALES:
        response.set_cookie(
            LANGUAGE_COOKIE, code, max_age=ONE_YEAR, samesite="lax", secure=page.settings.https
        )
        if page.current is not None:
            accounts.set_locale(page.current.person_id, code)
    return response
