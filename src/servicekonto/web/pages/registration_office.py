"""The registration office's console (role `registration_office`): queue, case, documents,
decision. Another authority's case is not found (404): its existence is not revealed."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from servicekonto.accounts.models import StaffRole
from servicekonto.organisations.models import VerificationState
from servicekonto.organisations.service import OrganisationError
from servicekonto.organisations.verification import Decision, RegistrationOffice, StaffMember
from servicekonto.security.headers import CONTENT_SECURITY_POLICY
from servicekonto.web.dependencies import SubmissionDep
from servicekonto.web.pages.common import FORM_EXPIRED
from servicekonto.web.pages.staff_access import StaffDesk, desk_for
from servicekonto.web.rendering import redirect, render

router = APIRouter(include_in_schema=False)
# The case page shows documents in a frame of our own origin; the documents may be framed by it.
VIEWER_POLICY = CONTENT_SECURITY_POLICY.replace(
    "default-src 'none'", "default-src 'none'; frame-src 'self'"
)
FRAMED_POLICY = "default-src 'none'; frame-ancestors 'self'"


DeskDep = Annotated[StaffDesk, Depends(desk_for(StaffRole.REGISTRATION_OFFICE))]


def _office(request: Request) -> RegistrationOffice:
    office: RegistrationOffice = request.app.state.registration_office
    return office


OfficeDep = Annotated[RegistrationOffice, Depends(_office)]


def _member(desk: StaffDesk) -> StaffMember:
    return StaffMember(desk.person_id, desk.authority.id)


@router.get("/staff/{slug}/organisations", response_class=HTMLResponse)
def queue(desk: DeskDep, office: OfficeDep, state: str = "") -> HTMLResponse:
    weak = desk.step_up_needed()
    if weak is not None:
        return weak
    chosen = state if state in {s.value for s in VerificationState} else ""
    entries = office.queue(_member(desk), chosen or None)
    now = desk.page.request.app.state.clock.now()
    return render(
        desk.page,
        "office_queue.html",
        authority=desk.authority,
        entries=entries,
        state=chosen,
        states=[s.value for s in VerificationState],
        now=now,
    )


def _case_page(
    desk: StaffDesk, office: RegistrationOffice, organisation_id: uuid.UUID, **extra: object
) -> HTMLResponse:
    case = office.case(_member(desk), organisation_id)
    if case is None:
        raise HTTPException(status_code=404)
    context = {"problem": None, "typed": {}, **extra}
    response = render(
        desk.page,
        "office_case.html",
        status=422 if extra.get("problem") else 200,
        authority=desk.authority,
        case=case,
        **context,
    )
    response.headers["content-security-policy"] = VIEWER_POLICY
    return response


@router.get("/staff/{slug}/organisations/{organisation_id}", response_class=HTMLResponse)
def case(organisation_id: uuid.UUID, desk: DeskDep, office: OfficeDep) -> HTMLResponse:
    return desk.step_up_needed() or _case_page(desk, office, organisation_id)


@router.get(
    "/staff/{slug}/organisations/{organisation_id}/documents/{document_id}", response_model=None
)
def document(
    organisation_id: uuid.UUID, document_id: uuid.UUID, desk: DeskDep, office: OfficeDep
) -> HTMLResponse | StreamingResponse:
    weak = desk.step_up_needed()
    if weak is not None:
        return weak
    opened = office.open_document(_member(desk), organisation_id, document_id)
    if opened is None:
        raise HTTPException(status_code=404)
    row, content = opened
    headers = {
        "content-disposition": f'inline; filename="{row.filename}"',
        "content-security-policy": FRAMED_POLICY,
        "x-frame-options": "SAMEORIGIN",
        "cache-control": "no-store",
    }
    return StreamingResponse(content, media_type=row.content_type, headers=headers)


@router.post("/staff/{slug}/organisations/{organisation_id}/decision", response_model=None)
def decide(
    organisation_id: uuid.UUID, desk: DeskDep, office: OfficeDep, form: SubmissionDep
) -> HTMLResponse | RedirectResponse:
    weak = desk.step_up_needed()
    if weak is not None:
        return weak
    if not form.csrf_ok:
        return _case_page(
            desk, office, organisation_id, problem=FORM_EXPIRED["form"], typed=form.values
        )
    choice = form.get("decision")
    if choice not in {d.value for d in Decision}:
        return _case_page(
            desk,
            office,
            organisation_id,
            problem="verification.decision_missing",
            typed=form.values,
        )
    try:
        outcome = office.decide(
            _member(desk), organisation_id, Decision(choice), form.get("message")
        )
    except OrganisationError as error:
        if error.reason == "organisation.not_found":
            raise HTTPException(status_code=404) from None
        return _case_page(desk, office, organisation_id, problem=error.reason, typed=form.values)
    return redirect(
        desk.page, f"/staff/{desk.authority.slug}/organisations?decided={outcome.value}"
    )
