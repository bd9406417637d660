"""Logging in and proving identity with the eID card, through the eID-Server (eID port).

Start: we open an eID-Server session, remember it with a cookie of this browser, and send the
browser to the eID client. Return: only the browser that started the run, with the session we
opened, gets a result, once. Every refusal is shown in plain words and audited; none raises a
level.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from servicekonto.eid.port import EidAttributes, EidError, EidFailure, EidPort
from servicekonto.registration.eid_identity import (
    Attempt,
    BindOutcome,
    CardIdentity,
    EidIdentity,
    EidPurpose,
)
from servicekonto.web.dependencies import LoginDep, PageDep, SubmissionDep, session_cookie
from servicekonto.web.rendering import Page, redirect, render, safe_next
from servicekonto.web.session_cookie import set_session_cookie

router = APIRouter(include_in_schema=False)
EID_COOKIE = "sk_eid"
RETURN_PATH = "/eid/return"


def _port(request: Request) -> EidPort | None:
    port: EidPort | None = request.app.state.eid_port
    return port


def _identity(request: Request) -> EidIdentity:
    identity: EidIdentity = request.app.state.eid_identity
    return identity


IdentityDep = Annotated[EidIdentity, Depends(_identity)]


def _refused(page: Page, identity: EidIdentity, reason: str, status: int = 400) -> HTMLResponse:
    person_id = page.current.person_id if page.current is not None else None
    identity.refused(person_id, reason)
    return render(page, "eid_result.html", status=status, reason=reason)


@router.post("/eid/start", response_model=None)
def start(request: Request, page: PageDep, form: SubmissionDep, identity: IdentityDep) -> Response:
    port = _port(request)
    purpose = form.get("purpose")
    if port is None or purpose not in {p.value for p in EidPurpose} or not form.csrf_ok:
        return render(page, "eid_result.html", status=400, reason="unavailable")
    person_id = page.current.person_id if page.signed_in and page.current else None
    if purpose == EidPurpose.BIND and person_id is None:
        return redirect(page, "/login?next=/account")
    try:
        session = port.start(page.settings.issuer + RETURN_PATH)
    except EidError as error:
        return _refused(page, identity, error.failure.value, status=503)
    next_path = safe_next(form.get("next"), default="/account")
    attempt = Attempt(session.session_id, EidPurpose(purpose), person_id, next_path)
    token = identity.begin(attempt)
    response = RedirectResponse(session.client_url, status_code=303)
    # Lax: the eID client sends the browser back to us with a top-level GET, which carries it.
    response.set_cookie(
        EID_COOKIE, token, max_age=900, httponly=True, samesite="lax", secure=page.settings.https
    )
    return response


@router.get(RETURN_PATH, response_model=None)
def come_back(
    request: Request,
    page: PageDep,
    *,
    login: LoginDep,
    identity: IdentityDep,
    session_id: str = "",
    result_ref: str = "",
) -> Response:
    port = _port(request)
    attempt = identity.take(request.cookies.get(EID_COOKIE), session_id)
    if port is None or attempt is None or not result_ref or len(result_ref) > 200:
        return _refused(page, identity, EidFailure.SESSION_MISMATCH.value)
    try:
        card = _card(port.result(attempt.eid_session_id, result_ref))
    except EidError as error:
        return _refused(page, identity, error.failure.value)
    if attempt.purpose == EidPurpose.LOGIN:
        return _log_in(page, login, identity, card, attempt)
    if attempt.purpose == EidPurpose.REGISTER:
        return _register(page, identity, card, attempt)
    return _bind(request, page, login, identity=identity, card=card, attempt=attempt)


def _card(attributes: EidAttributes) -> CardIdentity:
    return CardIdentity(
        given_names=attributes.given_names,
        family_name=attributes.family_name,
        birth_name=attributes.birth_name,
        birth_date=attributes.birth_date,
        document_type=attributes.document_type,
        pseudonym=attributes.pseudonym,
        birth_place=attributes.birth_place,
        street=attributes.address.street,
        house_number=attributes.address.house_number,
        postal_code=attributes.address.postal_code,
        city=attributes.address.city,
    )


def _register(page: Page, identity: EidIdentity, card: CardIdentity, attempt: Attempt) -> Response:
    if identity.person_with(card) is not None or attempt.attempt_id is None:
        return render(page, "eid_result.html", status=409, reason="already_registered")
    identity.keep_card(attempt.attempt_id, card)
    # The cookie stays: the registration form finds the card by it.
    return redirect(page, "/register/eid")


def _log_in(
    page: Page, login: LoginDep, identity: EidIdentity, card: CardIdentity, attempt: Attempt
) -> Response:
    person_id = identity.person_with(card)
    token = login.eid_login(person_id) if person_id is not None else None
    if token is None:
        return _refused(page, identity, "not_bound", status=200)
    response = redirect(page, attempt.next_path)
    set_session_cookie(response, page.settings, token)
    response.delete_cookie(EID_COOKIE)
    return response


def _bind(
    request: Request,
    page: PageDep,
    login: LoginDep,
    *,
    identity: EidIdentity,
    card: CardIdentity,
    attempt: Attempt,
) -> Response:
    current = page.current if page.signed_in else None
    if attempt.person_id is None or current is None or current.person_id != attempt.person_id:
        return _refused(page, identity, EidFailure.SESSION_MISMATCH.value)
    outcome = identity.bind(attempt.person_id, card)
    if outcome not in {BindOutcome.BOUND, BindOutcome.CONFIRMED}:
        return render(page, "eid_result.html", status=409, reason=outcome.value)
    token = login.add_eid(session_cookie(request), _person(attempt))
    if token is None:
        return _refused(page, identity, EidFailure.SESSION_MISMATCH.value)
    target = attempt.next_path if attempt.next_path != "/account" else "/account?updated=eid_bound"
    response = redirect(page, target)
    set_session_cookie(response, page.settings, token)
    response.delete_cookie(EID_COOKIE)
    return response


def _person(attempt: Attempt) -> uuid.UUID:
    assert attempt.person_id is not None  # noqa: S101 - checked by the caller
    return attempt.person_id
