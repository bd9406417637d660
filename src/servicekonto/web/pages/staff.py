"""The staff console's in-person identity check (role `citizens_office`).

It lives with the hosted pages because it shares their rendering, CSRF and session handling.
Every staff page acts for one authority, named in the path; the signed-in person must hold the
role there, and their session must be at level `substantial` (password and second factor).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.accounts.models import StaffRole
from servicekonto.registration.in_person import InPersonChecks, StaffActor, parse_check
from servicekonto.web.dependencies import (
    ActionFormDep,
    LoginDep,
    PageDep,
    SignedInDep,
    SubmissionDep,
)
from servicekonto.web.pages.common import FORM_EXPIRED, form_problem, log_in_again
from servicekonto.web.pages.staff_access import StaffDesk, desk_for
from servicekonto.web.rendering import redirect, render

router = APIRouter(include_in_schema=False)
StaffDep = Annotated[StaffDesk, Depends(desk_for(StaffRole.CITIZENS_OFFICE))]


def _checks(request: Request) -> InPersonChecks:
    checks: InPersonChecks = request.app.state.in_person_checks
    return checks


ChecksDep = Annotated[InPersonChecks, Depends(_checks)]


@router.get("/staff/{slug}/identity", response_class=HTMLResponse)
def identity_check_page(
    staff: StaffDep, current: SignedInDep, checks: ChecksDep, email: str = "", done: str = ""
) -> HTMLResponse:
    weak = staff.step_up_needed()
    if weak is not None:
        return weak
    person = checks.find(email) if email else None
    if person is not None and person.id == current.person_id:
        person = None  # nobody vouches for their own identity
    return render(
        staff.page,
        "staff_identity.html",
        authority=staff.authority,
        email=email,
        person=person,
        searched=bool(email),
        done=done == "1",
    )


@router.post("/staff/{slug}/identity/{person_id}", response_model=None)
def record_check(
    person_id: uuid.UUID,
    staff: StaffDep,
    current: SignedInDep,
    form: SubmissionDep,
    checks: ChecksDep,
) -> HTMLResponse | RedirectResponse:
    weak = staff.step_up_needed()
    if weak is not None:
        return weak
    if person_id == current.person_id:
        raise HTTPException(status_code=403)
    person = checks.find(form.get("email"))
    if person is None or person.id != person_id:
        raise HTTPException(status_code=404)
    context = {
        "authority": staff.authority,
        "email": form.get("email"),
        "person": person,
        "searched": True,
        "done": False,
    }
    if not form.csrf_ok:
        return form_problem(staff.page, "staff_identity.html", form, FORM_EXPIRED, **context)
    entry = parse_check(form.values)
    if isinstance(entry, dict):
        return form_problem(staff.page, "staff_identity.html", form, entry, **context)
    checks.record(StaffActor(staff.person_id, staff.authority.id), person_id, entry)
    return redirect(staff.page, f"/staff/{staff.authority.slug}/identity?done=1")


@router.post("/staff/{slug}/step-up", response_model=None)
def staff_step_up(
    slug: str, request: Request, page: PageDep, form: ActionFormDep, login: LoginDep
) -> RedirectResponse:
    # Log in afresh, with the second factor this time, and come back to the staff page.
    back = form.get("next")
    target = back if back.startswith("/staff/") else f"/staff/{slug}/identity"
    return log_in_again(request, page, login, f"/login?next={target}")
