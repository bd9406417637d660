"""Members of an organisation: invite by e-mail, accept the invitation, remove."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.accounts.notifications import Notifier
from servicekonto.organisations.service import OrganisationError
from servicekonto.web.dependencies import PageDep, SignedInDep, SubmissionDep
from servicekonto.web.pages.organisations import MembersDep, detail_page
from servicekonto.web.rendering import redirect, render

router = APIRouter(include_in_schema=False)
ACCEPT = "/organisations/invitations/accept"


@router.post("/organisations/{organisation_id}/invitations", response_model=None)
def invite(
    organisation_id: uuid.UUID,
    request: Request,
    page: PageDep,
    current: SignedInDep,
    *,
    form: SubmissionDep,
    members: MembersDep,
) -> HTMLResponse | RedirectResponse:
    if not form.csrf_ok:
        return detail_page(
            request, page, current.person_id, organisation_id, problem="form.expired"
        )
    try:
        invitation = members.invite(
            current.person_id, organisation_id, form.get("email"), form.get("role")
        )
    except OrganisationError as error:
        return detail_page(
            request,
            page,
            current.person_id,
            organisation_id,
            problem=error.reason,
            typed=form.values,
        )
    notifier: Notifier = request.app.state.accounts.notifier
    days = request.app.state.settings.organisations.invitation_days
    notifier.organisation_invitation(
        invitation.email, page.locale, invitation.organisation_name, invitation.token, days
    )
    return redirect(page, f"/organisations/{organisation_id}?updated=invited")


@router.get(ACCEPT, response_class=HTMLResponse)
def accept_page(page: PageDep, current: SignedInDep, token: str = "") -> HTMLResponse:
    return render(page, "organisation_invitation.html", token=token, problem=None)


@router.post(ACCEPT, response_model=None)
def accept(
    page: PageDep, current: SignedInDep, form: SubmissionDep, members: MembersDep
) -> HTMLResponse | RedirectResponse:
    token = form.get("token")
    if not form.csrf_ok:
        return render(
            page, "organisation_invitation.html", status=403, token=token, problem="form.expired"
        )
    try:
        organisation_id = members.accept(token, current.person_id)
    except OrganisationError as error:
        return render(
            page, "organisation_invitation.html", status=409, token=token, problem=error.reason
        )
    return redirect(page, f"/organisations/{organisation_id}?updated=joined")


@router.post("/organisations/{organisation_id}/members/{person_id}/remove", response_model=None)
def remove(
    organisation_id: uuid.UUID,
    person_id: uuid.UUID,
    request: Request,
    page: PageDep,
    current: SignedInDep,
    *,
    form: SubmissionDep,
    members: MembersDep,
) -> HTMLResponse | RedirectResponse:
    if not form.csrf_ok:
        return detail_page(
            request, page, current.person_id, organisation_id, problem="form.expired"
        )
    try:
        members.remove(current.person_id, organisation_id, person_id)
    except OrganisationError as error:
        return detail_page(request, page, current.person_id, organisation_id, problem=error.reason)
    return redirect(page, f"/organisations/{organisation_id}?updated=member_removed")
