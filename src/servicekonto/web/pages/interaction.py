"""The pages a procedure's request may need from the person: consent and step-up.

After either, the browser goes back to the resume address of the protocol front end (OIDC or
SAML) that made the interaction, which answers the procedure in its own protocol.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from servicekonto.federation.attributes import claim_names
from servicekonto.federation.models import Interaction
from servicekonto.federation.service import FederationService
from servicekonto.trust.levels import IdentityProofing, TrustLevel, identity_level
from servicekonto.web.dependencies import (
    AccountsDep,
    ActionFormDep,
    LoginDep,
    PageDep,
    SecondFactorsDep,
    SignedInDep,
)
from servicekonto.web.pages.common import log_in_again
from servicekonto.web.rendering import redirect, render

router = APIRouter(include_in_schema=False)


def _interaction(request: Request, interaction_id: uuid.UUID) -> Interaction:
    federation: FederationService = request.app.state.federation
    interaction = federation.waiting(interaction_id)
    if interaction is None:
        raise HTTPException(status_code=404)
    return interaction


def _released(interaction: Interaction) -> list[str]:
    """What the consent page lists: the front end's own list (SAML), or the scopes' claims."""
    if "release" in interaction.params:
        return list(interaction.params["release"])
    scopes = set(str(interaction.params["request"].get("scope", "")).split()) - {"openid"}
    return claim_names(scopes)


def _consented_to(interaction: Interaction) -> list[str]:
    """What a consent covers: OIDC scopes, or the SAML attributes' consent words."""
    if "release" in interaction.params:
        return sorted(interaction.params["release"])
    return sorted(set(str(interaction.params["request"].get("scope", "")).split()))


@router.get("/interaction/consent/{interaction_id}", response_class=HTMLResponse)
def consent_form(
    interaction_id: uuid.UUID, request: Request, page: PageDep, current: SignedInDep
) -> HTMLResponse:
    interaction = _interaction(request, interaction_id)
    return render(
        page,
        "consent.html",
        interaction_id=interaction_id,
        client_name=interaction.params.get("client_name", interaction.client_id),
        claims=_released(interaction),
        display=interaction.params.get("display") or {},
    )


@router.post("/interaction/consent/{interaction_id}", response_model=None)
def consent(
    interaction_id: uuid.UUID,
    request: Request,
    page: PageDep,
    current: SignedInDep,
    form: ActionFormDep,
) -> RedirectResponse:
    interaction = _interaction(request, interaction_id)
    if form.get("decision") != "allow":
        return redirect(page, interaction.deny_path)
    federation: FederationService = request.app.state.federation
    federation.grant_consent(current.person_id, interaction.client_id, _consented_to(interaction))
    return redirect(page, interaction.resume_path)


@router.get("/interaction/step-up/{interaction_id}", response_class=HTMLResponse)
def step_up_page(
    interaction_id: uuid.UUID,
    request: Request,
    page: PageDep,
    current: SignedInDep,
    *,
    accounts: AccountsDep,
    factors: SecondFactorsDep,
) -> HTMLResponse:
    interaction = _interaction(request, interaction_id)
    required = TrustLevel(int(interaction.params.get("required_level", 1)))
    person = accounts.profile(current.person_id)
    proofing = person.identity_proofing if person else IdentityProofing.SELF_DECLARED.value
    status = factors.status(current.person_id)
    return render(
        page,
        "step_up.html",
        interaction_id=interaction_id,
        resume_path=interaction.resume_path,
        deny_path=interaction.deny_path,
        client_name=interaction.params.get("client_name", interaction.client_id),
        required=int(required),
        identity_enough=identity_level(proofing) >= required,
        has_second_factor=status.totp or bool(status.passkeys),
    )


@router.post("/interaction/step-up/{interaction_id}", response_model=None)
def step_up(
    interaction_id: uuid.UUID,
    request: Request,
    page: PageDep,
    current: SignedInDep,
    *,
    form: ActionFormDep,
    login: LoginDep,
) -> RedirectResponse:
    interaction = _interaction(request, interaction_id)
    # Log in afresh: password and then the second factor, and come back to the request.
    return log_in_again(request, page, login, f"/login?next={interaction.resume_path}")
