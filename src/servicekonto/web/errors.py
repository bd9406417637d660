"""Error pages for people: the same status codes as the API's problem details, as HTML."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from servicekonto.observability import current_request_id
from servicekonto.web.dependencies import FormExpired, SignInRequired
from servicekonto.web.rendering import build_page, redirect, render

_PAGES = {
    404: ("error.not_found_title", "error.not_found_lead"),
    405: ("error.not_found_title", "error.not_found_lead"),
}
_GENERIC = ("error.generic_title", "error.generic_lead")


def wants_html(request: Request) -> bool:
    """A browser navigating (not a script or a procedure calling the API)."""
    path = request.url.path
    if path.startswith(("/api/", "/problems/", "/healthz", "/readyz")):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int) -> HTMLResponse:
    title_id, lead_id = _PAGES.get(status, _GENERIC)
    page = build_page(request, current=None)
    return render(
        page,
        "error.html",
        status=status,
        title_id=title_id,
        lead_id=lead_id,
        request_id=current_request_id() if status >= 500 else None,
    )


def _sign_in_first(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, SignInRequired):
        raise exc
    page = exc.page
    return redirect(page, f"/login?next={quote(page.request.url.path, safe='/')}")


def _form_expired(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, FormExpired):
        raise exc
    return render(exc.page, "form_expired.html", status=403)


def install_page_handlers(app: FastAPI) -> None:
    """Signed-out visitors go to the login page; expired action forms get a clear page."""
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(FormExpired, _form_expired)
