"""Forgotten password: ask for a link, then set a new password with it.

The request page answers the same whether or not the address has an account.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from servicekonto.accounts.models import EmailTokenPurpose
from servicekonto.web.dependencies import AccountsDep, PageDep, SubmissionDep
from servicekonto.web.pages.common import FORM_EXPIRED, form_problem
from servicekonto.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_form(page: PageDep) -> HTMLResponse:
    return render(page, "password_forgot.html")


@router.post("/password/forgot", response_class=HTMLResponse)
def forgot(page: PageDep, form: SubmissionDep, accounts: AccountsDep) -> HTMLResponse:
    if not form.csrf_ok:
        return form_problem(page, "password_forgot.html", form, FORM_EXPIRED)
    accounts.request_password_reset(form.get("email"), page.locale)
    return render(page, "password_forgot_sent.html")


@router.get("/password/reset", response_class=HTMLResponse)
def reset_form(page: PageDep, accounts: AccountsDep, token: str = "") -> HTMLResponse:
    if not accounts.email_token_usable(EmailTokenPurpose.RESET_PASSWORD, token):
        return render(page, "link_invalid.html", status=410)
    return render(page, "password_reset.html", token=token)


@router.post("/password/reset", response_class=HTMLResponse)
def reset(page: PageDep, form: SubmissionDep, accounts: AccountsDep) -> HTMLResponse:
    token = form.get("token")
    if not form.csrf_ok:
        return form_problem(page, "password_reset.html", form, FORM_EXPIRED, token=token)
    outcome = accounts.reset_password(token, form.get("password"), form.get("password_confirm"))
    if outcome is None:
        return render(page, "link_invalid.html", status=410)
    if not outcome.ok:
        return form_problem(page, "password_reset.html", form, outcome.errors, token=token)
    return render(page, "password_reset_done.html")
