"""Small pieces every page module uses."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from servicekonto.web.dependencies import Submission
from servicekonto.web.rendering import Page, render

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
