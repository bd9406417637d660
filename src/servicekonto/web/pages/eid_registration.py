"""Registering with the eID card: the card's data make the account, no PIN letter is needed.

The person only adds an e-mail address and a password. As with every registration, the page
does not tell whether the address already has an account; the card is bound only to an account
this registration created.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.registration.eid_identity import EidIdentity, KeptCard
from servicekonto.web.dependencies import AccountsDep, PageDep, SubmissionDep
from servicekonto.web.pages.common import FORM_EXPIRED, form_problem
from servicekonto.web.pages.eid import EID_COOKIE
from servicekonto.web.rendering import Page, redirect, render

router = APIRouter(include_in_schema=False)
FORM = "register_eid.html"
ACCOUNT_FIELDS = ("email", "password", "password_confirm")


def _kept(request: Request) -> tuple[EidIdentity, KeptCard | None]:
    identity: EidIdentity = request.app.state.eid_identity
    return identity, identity.kept_card(request.cookies.get(EID_COOKIE))


@router.get("/register/eid", response_model=None)
def register_with_card_form(request: Request, page: PageDep) -> HTMLResponse | RedirectResponse:
    _, kept = _kept(request)
    if kept is None:
        return redirect(page, "/register")
    return render(page, FORM, card=kept.data)


@router.post("/register/eid", response_model=None)
def register_with_card(
    request: Request, page: PageDep, form: SubmissionDep, accounts: AccountsDep
) -> HTMLResponse | RedirectResponse:
    identity, kept = _kept(request)
    if kept is None:
        return redirect(page, "/register")
    if not form.csrf_ok:
        return form_problem(page, FORM, form, FORM_EXPIRED, card=kept.data)
    typed = {name: form.get(name) for name in ACCOUNT_FIELDS}
    outcome = accounts.register({**kept.data, **typed}, page.locale)
    if not outcome.ok:
        return form_problem(page, FORM, form, outcome.errors, card=kept.data)
    _finish(identity, kept, outcome.created)
    return _sent(page)


def _finish(identity: EidIdentity, kept: KeptCard, created: uuid.UUID | None) -> None:
    if created is None:
        identity.forget_card(kept.attempt_id)  # the address was taken: bind nothing
        return
    identity.bind_registered(created, kept)


def _sent(page: Page) -> RedirectResponse:
    response = redirect(page, "/register/sent")
    response.delete_cookie(EID_COOKIE)
    return response
