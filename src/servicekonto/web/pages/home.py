"""The start page and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.clients.schemas import ClientOut
from servicekonto.clients.service import ClientService
from servicekonto.i18n.catalog import SUPPORTED_LOCALES
from servicekonto.safe.preferences import SafePreferences
from servicekonto.web.dependencies import AccountsDep, PageDep
from servicekonto.web.rendering import LANGUAGE_COOKIE, Page, redirect, render, safe_next

router = APIRouter(include_in_schema=False)
ONE_YEAR = 365 * 24 * 3600


@router.get("/", response_class=HTMLResponse)
def start(request: Request, page: PageDep) -> HTMLResponse:
    return render(page, "start.html", favourites=_favourites(request, page))


def _favourites(request: Request, page: Page) -> list[ClientOut]:
    if page.current is None or not page.signed_in:
        return []
    preferences: SafePreferences = request.app.state.safe_preferences
    clients: ClientService = request.app.state.oauth_server.clients
    pinned = preferences.favourites(page.current.person_id)
    by_id = {client.client_id: client for client in clients.list() if not client.disabled}
    return [by_id[client_id] for client_id in pinned if client_id in by_id]


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
