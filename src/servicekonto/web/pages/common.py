"""Small pieces every page module uses."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.accounts.login import LoginService
from servicekonto.web.dependencies import Submission, session_cookie
from servicekonto.web.rendering import Page, redirect, render
from servicekonto.web.session_cookie import clear_session_cookie

FORM_EXPIRED = {"form": "form.expired"}
# Secrets are never sent back into a form, whatever went wrong.
_NEVER_ECHOED = frozenset({"code", "recovery_code", "token"})


def form_problem(
    page: Page, template: str, submission: Submission, errors: dict[str, str], **context: object
) -> HTMLResponse:
    """Re-render a form with its errors and what was typed (never passwords)."""
    values = {
        k: v for k, v in submission.values.items() if k not in _NEVER_ECHOED and "password" not in k
    }
    status = 403 if errors is FORM_EXPIRED else 422
    return render(page, template, status=status, errors=errors, values=values, **context)


def client_address(page: Page) -> str | None:
    client = page.request.client
    return client.host if client else None


def log_in_again(
    request: Request, page: Page, login: LoginService, target: str
) -> RedirectResponse:
    """End this session and send the browser to `target` (the login page, or a page after it)."""
    login.logout(session_cookie(request))
    response = redirect(page, target)
    clear_session_cookie(response, page.settings)
    return response
