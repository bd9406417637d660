"""The account page and the changes made from it: password, e-mail address, sessions."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.accounts.models import EmailTokenPurpose
from servicekonto.trust.levels import TrustLevel
from servicekonto.web.dependencies import AccountsDep, PageDep, SecondFactorsDep, SubmissionDep
from servicekonto.web.pages.common import FORM_EXPIRED, form_problem, require_session
from servicekonto.web.rendering import redirect, render
from servicekonto.web.session_cookie import clear_session_cookie

router = APIRouter(include_in_schema=False)


@router.get("/account", response_model=None)
def overview(
    page: PageDep, accounts: AccountsDep, factors: SecondFactorsDep, updated: str = ""
) -> HTMLResponse | RedirectResponse:
    current = require_session(page)
    if isinstance(current, RedirectResponse):
        return current
    person = accounts.profile(current.person_id)
    if person is None:
        return redirect(page, "/login")
    return render(
        page,
        "account.html",
        person=person,
        level=int(current.level),
        levels=[int(level) for level in TrustLevel],
        security=factors.status(person.id),
        updated=updated,
    )


@router.get("/account/password", response_model=None)
def password_form(page: PageDep) -> HTMLResponse | RedirectResponse:
    current = require_session(page)
    return (
        current if isinstance(current, RedirectResponse) else render(page, "account_password.html")
    )


@router.post("/account/password", response_model=None)
def change_password(
    page: PageDep, form: SubmissionDep, accounts: AccountsDep
) -> HTMLResponse | RedirectResponse:
    current = require_session(page)
    if isinstance(current, RedirectResponse):
        return current
    if not form.csrf_ok:
        return form_problem(page, "account_password.html", form, FORM_EXPIRED)
    outcome = accounts.change_password(current.person_id, current.session_id, form.values)
    if not outcome.ok:
        return form_problem(page, "account_password.html", form, outcome.errors)
    return redirect(page, "/account?updated=password")


@router.get("/account/email", response_model=None)
def email_form(page: PageDep) -> HTMLResponse | RedirectResponse:
    current = require_session(page)
    return current if isinstance(current, RedirectResponse) else render(page, "account_email.html")


@router.post("/account/email", response_model=None)
def change_email(
    page: PageDep, form: SubmissionDep, accounts: AccountsDep
) -> HTMLResponse | RedirectResponse:
    current = require_session(page)
    if isinstance(current, RedirectResponse):
        return current
    if not form.csrf_ok:
        return form_problem(page, "account_email.html", form, FORM_EXPIRED)
    outcome = accounts.request_email_change(current.person_id, form.values, page.locale)
    if not outcome.ok:
        return form_problem(page, "account_email.html", form, outcome.errors)
    return render(page, "account_email_sent.html")


@router.get("/account/email/confirm", response_class=HTMLResponse)
def confirm_email_change_page(
    page: PageDep, accounts: AccountsDep, token: str = ""
) -> HTMLResponse:
    if not accounts.email_token_usable(EmailTokenPurpose.CHANGE_EMAIL, token):
        return render(page, "link_invalid.html", status=410)
    return render(page, "confirm_email.html", token=token, action="/account/email/confirm")


@router.post("/account/email/confirm", response_class=HTMLResponse)
def confirm_email_change(page: PageDep, form: SubmissionDep, accounts: AccountsDep) -> HTMLResponse:
    token = form.get("token")
    if not form.csrf_ok:
        return form_problem(
            page,
            "confirm_email.html",
            form,
            FORM_EXPIRED,
            token=token,
            action="/account/email/confirm",
        )
    if not accounts.confirm_email_change(token):
        return render(page, "link_invalid.html", status=410)
    return render(page, "email_confirmed.html", changed=True)


@router.post("/account/logout-everywhere", response_model=None)
def logout_everywhere(
    page: PageDep, form: SubmissionDep, accounts: AccountsDep
) -> HTMLResponse | RedirectResponse:
    current = require_session(page)
    if isinstance(current, RedirectResponse):
        return current
    if not form.csrf_ok:
        return render(page, "form_expired.html", status=403)
    accounts.logout_everywhere(current.person_id)
    response = redirect(page, "/?signed_out=everywhere")
    clear_session_cookie(response, page.settings)
    return response
