"""The document safe, the cases and the favourites, as the signed-in person sees them."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from servicekonto.authorities.service import AuthorityService
from servicekonto.clients.schemas import ClientOut
from servicekonto.clients.service import ClientService
from servicekonto.safe.models import Category
from servicekonto.safe.preferences import SafePreferences
from servicekonto.safe.service import SafeService
from servicekonto.web.dependencies import ActionFormDep, FederationDep, PageDep, SignedInDep
from servicekonto.web.rendering import redirect, render

router = APIRouter(include_in_schema=False)
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9ÄÖÜäöüß._ -]+")


def _safe(request: Request) -> SafeService:
    service: SafeService = request.app.state.safe
    return service


def _preferences(request: Request) -> SafePreferences:
    service: SafePreferences = request.app.state.safe_preferences
    return service


def _procedures(request: Request) -> dict[str, ClientOut]:
    """Every procedure that is not disabled, by client id."""
    clients: ClientService = request.app.state.oauth_server.clients
    return {client.client_id: client for client in clients.list() if not client.disabled}


SafeDep = Annotated[SafeService, Depends(_safe)]
PreferencesDep = Annotated[SafePreferences, Depends(_preferences)]
ProceduresDep = Annotated[dict[str, ClientOut], Depends(_procedures)]


@router.get("/safe", response_class=HTMLResponse)
def safe_page(
    page: PageDep,
    current: SignedInDep,
    safe: SafeDep,
    *,
    preferences: PreferencesDep,
    federation: FederationDep,
    procedures: ProceduresDep,
    category: str = "",
    procedure: str = "",
    unread: str = "",
    updated: str = "",
) -> HTMLResponse:
    chosen = category if category in {c.value for c in Category} else ""
    documents = safe.documents(
        current.person_id,
        category=chosen or None,
        client_id=procedure or None,
        unread_only=unread == "1",
    )
    used = [procedures[c] for c in federation.procedures_used(current.person_id) if c in procedures]
    return render(
        page,
        "safe.html",
        documents=documents,
        categories=[c.value for c in Category],
        filters={"category": chosen, "procedure": procedure, "unread": unread == "1"},
        used=used,
        opted_in=preferences.opt_ins(current.person_id),
        updated=updated,
    )


@router.get("/safe/documents/{document_id}", response_model=None)
def download(document_id: uuid.UUID, current: SignedInDep, safe: SafeDep) -> StreamingResponse:
    opened = safe.open_document(current.person_id, document_id)
    if opened is None:
        # Another person's id and a made-up one look the same: not found.
        raise HTTPException(status_code=404)
    row, content = opened
    filename = (_UNSAFE_FILENAME.sub("_", row.title).strip() or "dokument")[:80] + ".pdf"
    headers = {
        "content-disposition": f'attachment; filename="{filename}"',
        "content-length": str(row.size),
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
    }
    return StreamingResponse(content, media_type="application/pdf", headers=headers)


@router.post("/safe/documents/{document_id}/delete", response_model=None)
def delete(
    document_id: uuid.UUID, page: PageDep, current: SignedInDep, form: ActionFormDep, safe: SafeDep
) -> RedirectResponse:
    if not safe.delete_document(current.person_id, document_id):
        raise HTTPException(status_code=404)
    return redirect(page, "/safe?updated=deleted")


@router.post("/safe/procedures/{client_id}/{choice}", response_model=None)
def choose(
    client_id: str,
    choice: str,
    page: PageDep,
    current: SignedInDep,
    form: ActionFormDep,
    *,
    preferences: PreferencesDep,
    procedures: ProceduresDep,
) -> RedirectResponse:
    if client_id not in procedures or choice not in {"opt-in", "opt-out"}:
        raise HTTPException(status_code=404)
    if choice == "opt-in":
        preferences.opt_in(current.person_id, client_id)
        return redirect(page, "/safe?updated=opted_in#procedures")
    preferences.opt_out(current.person_id, client_id)
    return redirect(page, "/safe?updated=opted_out#procedures")


@router.get("/safe/cases", response_class=HTMLResponse)
def cases_page(page: PageDep, current: SignedInDep, safe: SafeDep) -> HTMLResponse:
    return render(page, "safe_cases.html", cases=safe.cases(current.person_id))


@router.get("/favourites", response_class=HTMLResponse)
def favourites_page(
    request: Request,
    page: PageDep,
    current: SignedInDep,
    *,
    preferences: PreferencesDep,
    procedures: ProceduresDep,
    updated: str = "",
) -> HTMLResponse:
    authorities: AuthorityService = request.app.state.authorities
    by_authority = [
        (authority, [p for p in procedures.values() if p.authority_id == authority.id])
        for authority in authorities.list()
    ]
    return render(
        page,
        "favourites.html",
        by_authority=[(a, listed) for a, listed in by_authority if listed],
        favourites=set(preferences.favourites(current.person_id)),
        updated=updated,
    )


@router.post("/favourites/{client_id}/{choice}", response_model=None)
def pin(
    client_id: str,
    choice: str,
    page: PageDep,
    current: SignedInDep,
    form: ActionFormDep,
    *,
    preferences: PreferencesDep,
    procedures: ProceduresDep,
) -> RedirectResponse:
    if client_id not in procedures or choice not in {"add", "remove"}:
        raise HTTPException(status_code=404)
    if choice == "remove":
        preferences.remove_favourite(current.person_id, client_id)
        return redirect(page, "/favourites?updated=favourite_removed")
    if not preferences.add_favourite(current.person_id, client_id):
        return redirect(page, "/favourites?updated=favourites_full")
    return redirect(page, "/favourites?updated=favourite_added")
