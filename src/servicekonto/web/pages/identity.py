"""The identity check on the account: the PIN from the letter, a new letter, the demo letterbox."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from servicekonto.registration.service import PinStatus
from servicekonto.web.dependencies import (
    ActionFormDep,
    IdentityDep,
    PageDep,
    SignedInDep,
    SubmissionDep,
)
from servicekonto.web.pages.common import FORM_EXPIRED, client_address, form_problem
from servicekonto.web.rendering import redirect, render

router = APIRouter(include_in_schema=False)
_PIN_MESSAGES = {
    PinStatus.WRONG: "pin.wrong",
    PinStatus.INVALID: "pin.invalid",
    PinStatus.USED_UP: "pin.used_up",
    PinStatus.EXPIRED: "pin.expired",
    PinStatus.NO_LETTER: "pin.no_letter",
    PinStatus.MOVED: "pin.moved",
    PinStatus.REGISTRY_UNAVAILABLE: "registry.unavailable",
    PinStatus.THROTTLED: "login.throttled",
}


@router.get("/account/pin", response_class=HTMLResponse)
def pin_form(page: PageDep, current: SignedInDep, identity: IdentityDep) -> HTMLResponse:
    return render(page, "pin.html", check=identity.checks.view(current.person_id))


@router.post("/account/pin", response_model=None)
def pin_enter(
    page: PageDep, current: SignedInDep, form: SubmissionDep, identity: IdentityDep
) -> HTMLResponse | RedirectResponse:
    checks = identity.checks
    if not form.csrf_ok:
        view = checks.view(current.person_id)
        return form_problem(page, "pin.html", form, FORM_EXPIRED, check=view)
    outcome = checks.enter_pin(current.person_id, form.get("pin"), client_address(page))
    if outcome.status == PinStatus.BOUND:
        return redirect(page, "/account?updated=identity_bound")
    errors = {"pin": _PIN_MESSAGES[outcome.status]}
    response = form_problem(
        page,
        "pin.html",
        form,
        errors,
        check=checks.view(current.person_id),
        attempts_left=outcome.attempts_left,
        wait=outcome.retry_after,
    )
    if outcome.status == PinStatus.REGISTRY_UNAVAILABLE:
        response.status_code = 503
    if outcome.status == PinStatus.THROTTLED:
        response.status_code = 429
        response.headers["retry-after"] = str(outcome.retry_after)
    return response


@router.post("/account/letter", response_model=None)
def order_letter(
    page: PageDep, current: SignedInDep, form: ActionFormDep, identity: IdentityDep
) -> RedirectResponse:
    ordered = identity.checks.order_letter(current.person_id)
    return redirect(page, "/account?updated=" + ("letter_ordered" if ordered else "letter_refused"))


@router.get("/demo/letterbox", response_class=HTMLResponse)
def letterbox(page: PageDep, current: SignedInDep, identity: IdentityDep) -> HTMLResponse:
    _demo_only(page.settings.env)
    return render(page, "letterbox.html", letters=identity.checks.letters(current.person_id))


@router.get("/demo/letterbox/{letter_id}.pdf")
def letterbox_pdf(
    letter_id: uuid.UUID, page: PageDep, current: SignedInDep, identity: IdentityDep
) -> Response:
    _demo_only(page.settings.env)
    letter = next(
        (item for item in identity.checks.letters(current.person_id) if item.id == letter_id), None
    )
    pdf = identity.outbox.demo_pdf(letter) if letter is not None else None
    if pdf is None:
        raise HTTPException(status_code=404)
    return Response(pdf, media_type="application/pdf", headers={"cache-control": "no-store"})


def _demo_only(env: str) -> None:
    # The letterbox shows PINs on screen: it exists in the demo and nowhere else.
    if env != "demo":
        raise HTTPException(status_code=404)
