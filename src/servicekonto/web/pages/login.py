"""Logging in and out: password, then the second factor when the person has one."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from servicekonto.accounts.login import LoginResult, LoginService, LoginStatus
from servicekonto.web.dependencies import (
    ActionFormDep,
    JsonCallDep,
    LoginDep,
    PageDep,
    SubmissionDep,
    session_cookie,
)
from servicekonto.web.pages.common import FORM_EXPIRED, client_address, form_problem, log_in_again
from servicekonto.web.rendering import Page, redirect, render, safe_next
from servicekonto.web.session_cookie import set_session_cookie

router = APIRouter(include_in_schema=False)
SECOND_FACTOR_PATH = "/login/second-factor"


@router.get("/login", response_class=HTMLResponse)
def login_form(page: PageDep, next: str = "", login_hint: str = "") -> HTMLResponse:
    # A procedure's login_hint prefills the e-mail field (escaped like any typed value).
    values = {"email": login_hint[:254]} if login_hint else {}
    return render(page, "login.html", next=safe_next(next), values=values)


@router.post("/login", response_model=None)
def login(page: PageDep, form: SubmissionDep, login: LoginDep) -> HTMLResponse | RedirectResponse:
    target = safe_next(form.get("next"))
    if not form.csrf_ok:
        return form_problem(page, "login.html", form, FORM_EXPIRED, next=target)
    result = login.password_login(form.get("email"), form.get("password"), client_address(page))
    return _after_password(page, form, result, target)


def _after_password(
    page: Page, form: SubmissionDep, result: LoginResult, target: str
) -> HTMLResponse | RedirectResponse:
    if result.status == LoginStatus.THROTTLED:
        errors = {"form": "login.throttled"}
        response = form_problem(
            page, "login.html", form, errors, next=target, wait=result.retry_after
        )
        response.status_code = 429
        response.headers["retry-after"] = str(result.retry_after)
        return response
    if result.status == LoginStatus.UNCONFIRMED:
        return render(page, "login_unconfirmed.html", status=403)
    if result.token is None:
        return form_problem(page, "login.html", form, {"form": "login.failed"}, next=target)
    if result.status == LoginStatus.SECOND_FACTOR:
        target = f"{SECOND_FACTOR_PATH}?next={quote(target, safe='/')}"
    moved = redirect(page, target)
    set_session_cookie(moved, page.settings, result.token)
    return moved


@router.get(SECOND_FACTOR_PATH, response_model=None)
def second_factor_form(
    page: PageDep, request: Request, login: LoginDep, next: str = ""
) -> HTMLResponse | RedirectResponse:
    options = login.second_factor_options(session_cookie(request))
    if options is None:
        return redirect(page, "/login")
    return render(page, "second_factor.html", options=options, next=safe_next(next))


@router.post(SECOND_FACTOR_PATH, response_model=None)
def second_factor(
    page: PageDep, request: Request, form: SubmissionDep, login: LoginDep
) -> HTMLResponse | RedirectResponse:
    token, target = session_cookie(request), safe_next(form.get("next"))
    options = login.second_factor_options(token)
    if options is None:
        return redirect(page, "/login")
    if not form.csrf_ok:
        return form_problem(
            page, "second_factor.html", form, FORM_EXPIRED, options=options, next=target
        )
    if form.get("method") == "recovery":
        result = login.recovery_login(token, form.get("recovery_code"), client_address(page))
        field = "recovery_code"
    else:
        result = login.totp_login(token, form.get("code"), client_address(page))
        field = "code"
    return _after_second_factor(page, form, result, target, options=options, field=field)


def _after_second_factor(
    page: Page,
    form: SubmissionDep,
    result: LoginResult,
    target: str,
    *,
    options: dict[str, bool],
    field: str,
) -> HTMLResponse | RedirectResponse:
    if result.status == LoginStatus.EXPIRED:
        return redirect(page, "/login")
    if result.token is None:
        message = "login.throttled" if result.status == LoginStatus.THROTTLED else f"{field}.wrong"
        return form_problem(
            page,
            "second_factor.html",
            form,
            {field: message},
            options=options,
            next=target,
            wait=result.retry_after,
        )
    response = redirect(page, target)
    set_session_cookie(response, page.settings, result.token)
    return response


@router.post("/login/passkey/options")
def passkey_options(request: Request, call: JsonCallDep, login: LoginDep) -> Response:
    if not call.csrf_ok:
        return JSONResponse({"error": "form.expired"}, status_code=403)
    options = login.passkey_options(session_cookie(request))
    if options is None:
        return JSONResponse({"error": "login.expired"}, status_code=400)
    return Response(options, media_type="application/json")


@router.post("/login/passkey")
def passkey_login(request: Request, call: JsonCallDep, login: LoginDep) -> Response:
    if not call.csrf_ok:
        return JSONResponse({"error": "form.expired"}, status_code=403)
    client = request.client.host if request.client else None
    result = login.passkey_login(session_cookie(request), call.body, client)
    if result.token is None:
        return JSONResponse({"error": "passkey.failed"}, status_code=400)
    response = JSONResponse({"ok": True})
    set_session_cookie(response, request.app.state.settings, result.token)
    return response


@router.post("/logout", response_model=None)
def logout(
    page: PageDep, request: Request, form: ActionFormDep, login: LoginDep
) -> RedirectResponse:
    return log_in_again(request, page, login, _after_logout(request, login))


def _after_logout(request: Request, login: LoginService) -> str:
    """Where the browser goes once the session ends: through the SAML providers this session
    logged in to (single logout), or straight to the signed-out start page.

    The SAML front end is reached through the app's state, not imported: pages and protocol
    front ends are independent entry points (STYLE.md layers).
    """
    saml_logout = getattr(request.app.state, "saml_logout", None)
    current = login.current(session_cookie(request))
    chain = saml_logout.begin(current.session_id) if saml_logout and current else None
    return f"/saml/logout/{chain}" if chain else "/?signed_out=1"
