"""The account page and the changes made from it: password, e-mail address, sessions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.accounts.models import EmailTokenPurpose
from servicekonto.trust.levels import TrustLevel
from servicekonto.web.dependencies import (
    AccountsDep,
    ActionFormDep,
    FederationDep,
    IdentityDep,
    PageDep,
    SecondFactorsDep,
    SignedInDep,
    SubmissionDep,
)
from servicekonto.web.pages.common import FORM_EXPIRED, form_problem
from servicekonto.web.rendering import redirect, render
from servicekonto.web.session_cookie import clear_session_cookie

router = APIRouter(include_in_schema=False)
CONFIRM_CHANGE = "/account/email/confirm"


@router.get("/account", response_model=None)
def overview(
    page: PageDep,
    current: SignedInDep,
    *,
    accounts: AccountsDep,
    factors: SecondFactorsDep,
    identity: IdentityDep,
    federation: FederationDep,
    updated: str = "",
) -> HTMLResponse | RedirectResponse:
    # A registry that was down is asked again when the person looks.
    check = identity.checks.run_if_due(current.person_id)
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
        check=check,
        consents=federation.consents(person.id),
        releases=federation.releases(person.id, limit=20),
        organisations=page.request.app.state.organisations.mine(person.id),
        updated=updated,
    )


@router.get("/account/password", response_class=HTMLResponse)
def password_form(page: PageDep, current: SignedInDep) -> HTMLResponse:
    return render(page, "account_password.html")


@router.post("/account/password", response_model=None)
def change_password(
    page: PageDep, current: SignedInDep, form: SubmissionDep, accounts: AccountsDep
) -> HTMLResponse | RedirectResponse:
    if not form.csrf_ok:
        return form_problem(page, "account_password.html", form, FORM_EXPIRED)
    outcome = accounts.change_password(current.person_id, current.session_id, form.values)
    if not outcome.ok:
        return form_problem(page, "account_password.html", form, outcome.errors)
    return redirect(page, "/account?updated=password")


@router.get("/account/email", response_class=HTMLResponse)
def email_form(page: PageDep, current: SignedInDep) -> HTMLResponse:
    return render(page, "account_email.html")


@router.post("/account/email", response_class=HTMLResponse)
def change_email(
    page: PageDep, current: SignedInDep, form: SubmissionDep, accounts: AccountsDep
) -> HTMLResponse:
    if not form.csrf_ok:
        return form_problem(page, "account_email.html", form, FORM_EXPIRED)
    outcome = accounts.request_email_change(current.person_id, form.values, page.locale)
    if not outcome.ok:
        return form_problem(page, "account_email.html", form, outcome.errors)
    return render(page, "account_email_sent.html")


@router.get(CONFIRM_CHANGE, response_class=HTMLResponse)
def confirm_email_change_page(
    page: PageDep, accounts: AccountsDep, token: str = ""
) -> HTMLResponse:
    if not accounts.email_token_usable(EmailTokenPurpose.CHANGE_EMAIL, token):
        return render(page, "link_invalid.html", status=410)
    return render(page, "confirm_email.html", token=token, action=CONFIRM_CHANGE)


@router.post(CONFIRM_CHANGE, response_class=HTMLResponse)
def confirm_email_change(page: PageDep, form: SubmissionDep, accounts: AccountsDep) -> HTMLResponse:
    token = form.get("token")
    if not form.csrf_ok:
        return form_problem(
            page, "confirm_email.html", form, FORM_EXPIRED, token=token, action=CONFIRM_CHANGE
        )
    if not accounts.confirm_email_change(token):
        return render(page, "link_invalid.html", status=410)
    return render(page, "email_confirmed.html", changed=True)


@router.post("/account/logout-everywhere", response_model=None)
def logout_everywhere(
    page: PageDep, current: SignedInDep, form: ActionFormDep, accounts: AccountsDep
) -> RedirectResponse:
    accounts.logout_everywhere(current.person_id)
    response = redirect(page, "/?signed_out=everywhere")
    clear_session_cookie(response, page.settings)
    return response


@router.post("/account/consents/{consent_id}/revoke", response_model=None)
def revoke_consent(
    consent_id: uuid.UUID,
    page: PageDep,
    current: SignedInDep,
    form: ActionFormDep,
    federation: FederationDep,
) -> RedirectResponse:
    federation.revoke_consent(current.person_id, consent_id)
    return redirect(page, "/account?updated=consent_revoked#procedures")
