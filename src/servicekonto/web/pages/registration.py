"""Registering, and confirming the e-mail address with the link we sent.

The confirmation link opens a page with a button instead of confirming on GET: mail scanners
follow links in incoming mail, and a single-use link consumed by a scanner would leave the
person with a dead link.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.accounts.models import EmailTokenPurpose
from servicekonto.accounts.validation import ACADEMIC_TITLES
from servicekonto.web.dependencies import AccountsDep, IdentityDep, PageDep, SubmissionDep
from servicekonto.web.pages.common import FORM_EXPIRED, form_problem
from servicekonto.web.rendering import redirect, render

router = APIRouter(include_in_schema=False)


@router.get("/register", response_class=HTMLResponse)
def register_form(page: PageDep) -> HTMLResponse:
    return render(page, "register.html", titles=ACADEMIC_TITLES)


@router.post("/register", response_model=None)
def register(
    page: PageDep, form: SubmissionDep, accounts: AccountsDep
) -> HTMLResponse | RedirectResponse:
    if not form.csrf_ok:
        return form_problem(page, "register.html", form, FORM_EXPIRED, titles=ACADEMIC_TITLES)
    outcome = accounts.register(form.values, page.locale)
    if not outcome.ok:
        return form_problem(page, "register.html", form, outcome.errors, titles=ACADEMIC_TITLES)
    return redirect(page, "/register/sent")


@router.get("/register/sent", response_class=HTMLResponse)
def register_sent(page: PageDep) -> HTMLResponse:
    return render(page, "register_sent.html")


@router.get("/confirm-email", response_class=HTMLResponse)
def confirm_email_page(page: PageDep, accounts: AccountsDep, token: str = "") -> HTMLResponse:
    if not accounts.email_token_usable(EmailTokenPurpose.CONFIRM_EMAIL, token):
        return render(page, "link_invalid.html", status=410)
    return render(page, "confirm_email.html", token=token)


@router.post("/confirm-email", response_model=None)
def confirm_email(
    page: PageDep, form: SubmissionDep, accounts: AccountsDep, identity: IdentityDep
) -> HTMLResponse:
    token = form.get("token")
    if not form.csrf_ok:
        return form_problem(page, "confirm_email.html", form, FORM_EXPIRED, token=token)
    person_id = accounts.confirm_email(token)
    if person_id is None:
        return render(page, "link_invalid.html", status=410)
    # A confirmed address starts the registry check: only then can a letter be worth printing.
    check = identity.checks.start(person_id)
    return render(page, "email_confirmed.html", check=check)
