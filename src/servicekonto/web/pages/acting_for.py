"""Whom the person acts for, when a procedure asks for scope `organisation`.

"For myself" or one of the person's organisations; a procedure that needs a verified
organisation shows the others as unavailable, with the reason, and the person can go back.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.clients.service import ClientService
from servicekonto.federation.models import DENY_PATHS, RESUME_PATHS
from servicekonto.federation.service import FederationService
from servicekonto.organisations.models import VerificationState
from servicekonto.organisations.service import OrganisationService
from servicekonto.web.dependencies import PageDep, SignedInDep, SubmissionDep
from servicekonto.web.rendering import Page, redirect, render

router = APIRouter(include_in_schema=False)
ACTING_FOR = "acting_for"
SELF = "self"


def _choices(
    request: Request, page: Page, person_id: uuid.UUID, interaction_id: uuid.UUID
) -> HTMLResponse:
    federation: FederationService = request.app.state.federation
    interaction = federation.waiting(interaction_id)
    if interaction is None:
        raise HTTPException(status_code=404)
    organisations: OrganisationService = request.app.state.organisations
    clients: ClientService = request.app.state.oauth_server.clients
    client = clients.get(interaction.client_id)
    return render(
        page,
        "acting_for.html",
        interaction_id=interaction_id,
        client_name=interaction.params.get("client_name", interaction.client_id),
        mine=organisations.mine(person_id),
        verified_only=bool(client and client.require_verified_organisation),
        verified=VerificationState.VERIFIED.value,
    )


@router.get("/interaction/organisation/{interaction_id}", response_class=HTMLResponse)
def choose_page(
    interaction_id: uuid.UUID, request: Request, page: PageDep, current: SignedInDep
) -> HTMLResponse:
    return _choices(request, page, current.person_id, interaction_id)


@router.post("/interaction/organisation/{interaction_id}", response_model=None)
def choose(
    interaction_id: uuid.UUID,
    request: Request,
    page: PageDep,
    current: SignedInDep,
    form: SubmissionDep,
) -> HTMLResponse | RedirectResponse:
    if not form.csrf_ok:
        return _choices(request, page, current.person_id, interaction_id)
    choice = form.get(ACTING_FOR)
    if choice == "cancel":
        return redirect(page, f"{DENY_PATHS['oidc']}{interaction_id}")
    organisations: OrganisationService = request.app.state.organisations
    mine = {str(entry.organisation.id) for entry in organisations.mine(current.person_id)}
    if choice != SELF and choice not in mine:
        return _choices(request, page, current.person_id, interaction_id)
    federation: FederationService = request.app.state.federation
    if not federation.remember(interaction_id, ACTING_FOR, choice):
        raise HTTPException(status_code=404)
    # The front end checks again whether this organisation may be used with the procedure.
    return redirect(page, f"{RESUME_PATHS['oidc']}{interaction_id}")
