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
from servicekonto.accounts.staff import StaffService
from servicekonto.authorities.schemas import AuthorityOut
from servicekonto.authorities.service import AuthorityService
from servicekonto.registration.in_person import InPersonChecks, StaffActor, parse_check
from servicekonto.trust.levels import TrustLevel
from servicekonto.web.dependencies import (
    ActionFormDep,
    LoginDep,
    PageDep,
    SignedInDep,
    SubmissionDep,
    session_cookie,
)
from servicekonto.web.pages.common import FORM_EXPIRED, form_problem
from servicekonto.web.rendering import Page, redirect, render
from servicekonto.web.session_cookie import clear_session_cookie

router = APIRouter(include_in_schema=False)
STAFF_LEVEL = TrustLevel.SUBSTANTIAL


class StaffPage:
    """The staff member, the authority they act for, and whether the session is strong enough."""

    def __init__(self, page: Page, person_id: uuid.UUID, authority: AuthorityOut) -> None:
        self.page = page
        self.actor = StaffActor(person_id, authority.id)
        self.authority = authority


def citizens_office(slug: str, request: Request, page: PageDep, current: SignedInDep) -> StaffPage:
    authorities: AuthorityService = request.app.state.authorities
    staff: StaffService = request.app.state.staff
    authority = authorities.by_slug(slug)
    # Another authority's staff and a made-up authority are told the same: not yours.
    if authority is None or not staff.holds(
        current.person_id, authority.id, StaffRole.CITIZENS_OFFICE
    ):
        staff.denied(current.person_id, slug, StaffRole.CITIZENS_OFFICE)
        raise HTTPException(status_code=403)
    return StaffPage(page, current.person_id, authority)


StaffDep = Annotated[StaffPage, Depends(citizens_office)]


def _checks(request: Request) -> InPersonChecks:
    checks: InPersonChecks = request.app.state.in_person_checks
    return checks


ChecksDep = Annotated[InPersonChecks, Depends(_checks)]


def _needs_step_up(staff: StaffPage, current_level: TrustLevel) -> HTMLResponse | None:
    if current_level >= STAFF_LEVEL:
        return None
    return render(staff.page, "staff_step_up.html", status=403, authority=staff.authority)


@router.get("/staff/{slug}/identity", response_class=HTMLResponse)
def identity_check_page(
    staff: StaffDep, current: SignedInDep, checks: ChecksDep, email: str = "", done: str = ""
) -> HTMLResponse:
    weak = _needs_step_up(staff, current.level)
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
    weak = _needs_step_up(staff, current.level)
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
    checks.record(staff.actor, person_id, entry)
    return redirect(staff.page, f"/staff/{staff.authority.slug}/identity?done=1")


@router.post("/staff/{slug}/step-up", response_model=None)
def staff_step_up(
    slug: str, request: Request, page: PageDep, form: ActionFormDep, login: LoginDep
) -> RedirectResponse:
    # Log in afresh, with the second factor this time, and come back to the console.
    login.logout(session_cookie(request))
    response = redirect(page, f"/login?next=/staff/{slug}/identity")
    clear_session_cookie(response, page.settings)
    return response
