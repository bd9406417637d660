"""Second factors on the account: authenticator app, recovery codes, passkeys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from servicekonto.accounts.login import CurrentSession
from servicekonto.trust.levels import TrustLevel, authentication_level
from servicekonto.web.dependencies import (
    ActionFormDep,
    JsonCallDep,
    LoginDep,
    PageDep,
    SecondFactorsDep,
    SignedInDep,
    SubmissionDep,
)
from servicekonto.web.pages.common import FORM_EXPIRED, form_problem, log_in_again
from servicekonto.web.rendering import redirect, render

router = APIRouter(include_in_schema=False)
SECURITY = "/account#security"


@router.get("/account/totp", response_model=None)
def totp_form(
    page: PageDep, current: SignedInDep, factors: SecondFactorsDep
) -> HTMLResponse | RedirectResponse:
    enrolment = factors.begin_totp(current.person_id, qr_label=page.t("totp.qr_label"))
    if enrolment is None:
        return redirect(page, SECURITY)
    return render(page, "totp_enrol.html", enrolment=enrolment)


@router.post("/account/totp", response_model=None)
def totp_confirm(
    page: PageDep, current: SignedInDep, form: SubmissionDep, factors: SecondFactorsDep
) -> HTMLResponse | RedirectResponse:
    codes = factors.confirm_totp(current.person_id, form.get("code")) if form.csrf_ok else None
    if codes is not None:
        return render(page, "recovery_codes.html", codes=codes)
    # A fresh seed for the next try: the page shows the one the person will scan.
    enrolment = factors.begin_totp(current.person_id, qr_label=page.t("totp.qr_label"))
    if enrolment is None:
        return redirect(page, SECURITY)
    errors = {"code": "code.wrong"} if form.csrf_ok else FORM_EXPIRED
    return form_problem(page, "totp_enrol.html", form, errors, enrolment=enrolment)


@router.post("/account/totp/remove", response_model=None)
def totp_remove(
    page: PageDep, current: SignedInDep, form: ActionFormDep, factors: SecondFactorsDep
) -> HTMLResponse | RedirectResponse:
    if not _second_factor_used(current):
        return render(page, "reauthenticate.html", status=403)
    if not factors.remove_totp(current.person_id, form.get("password")):
        return render(page, "password_required.html", status=403)
    return redirect(page, "/account?updated=totp_removed#security")


@router.post("/account/recovery-codes", response_model=None)
def recovery_codes(
    page: PageDep, current: SignedInDep, form: ActionFormDep, factors: SecondFactorsDep
) -> HTMLResponse:
    codes = factors.new_recovery_codes(current.person_id, form.get("password"))
    if codes is None:
        return render(page, "password_required.html", status=403)
    return render(page, "recovery_codes.html", codes=codes)


@router.post("/account/passkeys/options")
def passkey_options(page: PageDep, call: JsonCallDep, factors: SecondFactorsDep) -> Response:
    current = page.current if page.signed_in else None
    if current is None or not call.csrf_ok:
        return JSONResponse({"error": "form.expired"}, status_code=403)
    options = factors.passkey_options(current.person_id, current.session_id)
    return Response(options, media_type="application/json")


@router.post("/account/passkeys")
def passkey_add(
    page: PageDep, call: JsonCallDep, factors: SecondFactorsDep, name: str = ""
) -> Response:
    current = page.current if page.signed_in else None
    if current is None or not call.csrf_ok:
        return JSONResponse({"error": "form.expired"}, status_code=403)
    problem = factors.add_passkey(current.person_id, current.session_id, call.body, name)
    if problem is not None:
        return JSONResponse({"error": problem}, status_code=400)
    return JSONResponse({"ok": True})


@router.post("/account/passkeys/{credential_id}/remove", response_model=None)
def passkey_remove(
    credential_id: uuid.UUID,
    page: PageDep,
    current: SignedInDep,
    form: ActionFormDep,
    factors: SecondFactorsDep,
) -> HTMLResponse | RedirectResponse:
    if not _second_factor_used(current):
        return render(page, "reauthenticate.html", status=403)
    if not factors.remove_passkey(current.person_id, credential_id, form.get("password")):
        return render(page, "password_required.html", status=403)
    return redirect(page, "/account?updated=passkey_removed#security")


def _second_factor_used(current: CurrentSession) -> bool:
    """Removing a second factor lowers what the account can reach: only a session that itself
    used a second factor may do it, so a stolen password alone cannot strip the protection."""
    return authentication_level(current.methods) >= TrustLevel.SUBSTANTIAL


@router.post("/account/reauthenticate", response_model=None)
def reauthenticate(
    request: Request, page: PageDep, form: ActionFormDep, login: LoginDep
) -> RedirectResponse:
    return log_in_again(request, page, login, "/login?next=/account")
