"""Error pages for people: the same status codes as the API's problem details, as HTML."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from servicekonto.observability import current_request_id
from servicekonto.web.rendering import build_page, render

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
