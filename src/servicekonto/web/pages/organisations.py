"""The applicant's organisation pages: register, upload documents, submit, members."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import UploadFile

from servicekonto.organisations.members import Members
from servicekonto.organisations.models import OrganisationDocument
from servicekonto.organisations.schemas import REGISTER_TYPES, validate_organisation
from servicekonto.organisations.service import OrganisationError, OrganisationService
from servicekonto.organisations.uploads import UploadRefusedError, store_upload
from servicekonto.web.csrf import CSRF_FIELD
from servicekonto.web.dependencies import PageDep, SignedInDep, SubmissionDep, csrf_verified
from servicekonto.web.pages.common import FORM_EXPIRED, form_problem
from servicekonto.web.rendering import Page, redirect, render

router = APIRouter(include_in_schema=False)
REGISTER_OPTIONS = ["", *REGISTER_TYPES]
MB = 1024 * 1024
MULTIPART_OVERHEAD = 64 * 1024


def _organisations(request: Request) -> OrganisationService:
    service: OrganisationService = request.app.state.organisations
    return service


def _members(request: Request) -> Members:
    service: Members = request.app.state.members
    return service


OrganisationsDep = Annotated[OrganisationService, Depends(_organisations)]
MembersDep = Annotated[Members, Depends(_members)]


@router.get("/organisations", response_class=HTMLResponse)
def my_organisations(
    page: PageDep, current: SignedInDep, organisations: OrganisationsDep
) -> HTMLResponse:
    return render(page, "organisations.html", mine=organisations.mine(current.person_id))


@router.get("/organisations/new", response_class=HTMLResponse)
def new_form(page: PageDep, current: SignedInDep) -> HTMLResponse:
    return render(page, "organisation_new.html", register_types=REGISTER_OPTIONS)


@router.post("/organisations/new", response_model=None)
def create(
    page: PageDep, current: SignedInDep, form: SubmissionDep, organisations: OrganisationsDep
) -> HTMLResponse | RedirectResponse:
    template, context = "organisation_new.html", {"register_types": REGISTER_OPTIONS}
    if not form.csrf_ok:
        return form_problem(page, template, form, FORM_EXPIRED, **context)
    data, errors = validate_organisation(form.values)
    if data is None:
        return form_problem(page, template, form, errors, **context)
    try:
        organisation_id = organisations.create(current.person_id, data)
    except OrganisationError as error:
        return form_problem(page, template, form, {"form": error.reason}, **context)
    return redirect(page, f"/organisations/{organisation_id}")


def detail_page(
    request: Request, page: Page, person_id: uuid.UUID, organisation_id: uuid.UUID, **extra: object
) -> HTMLResponse:
    case = _organisations(request).case_file(person_id, organisation_id)
    if case is None:
        raise HTTPException(status_code=404)  # not a member: it does not exist for them
    members = _members(request).members(person_id, organisation_id)
    status = 422 if extra.get("problem") else 200
    return render(
        page,
        "organisation.html",
        status=status,
        case=case,
        members=members,
        **{"problem": None, "updated": "", "typed": {}, **extra},
    )


@router.get("/organisations/{organisation_id}", response_class=HTMLResponse)
def detail(
    organisation_id: uuid.UUID,
    request: Request,
    page: PageDep,
    current: SignedInDep,
    updated: str = "",
) -> HTMLResponse:
    return detail_page(request, page, current.person_id, organisation_id, updated=updated)


class UploadForm:
    def __init__(self, upload: UploadFile | None, csrf_ok: bool, too_large: bool) -> None:
        self.upload, self.csrf_ok, self.too_large = upload, csrf_ok, too_large


async def upload_form(request: Request) -> AsyncIterator[UploadForm]:
    """One file and the CSRF token; a declared length past the limit is refused unread."""
    settings = request.app.state.settings.organisations
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > settings.upload_max_mb * MB + MULTIPART_OVERHEAD:
        yield UploadForm(None, csrf_ok=True, too_large=True)
        return
    form = await request.form(max_files=1, max_fields=5, max_part_size=4096)
    token = form.get(CSRF_FIELD)
    ok = csrf_verified(request, token if isinstance(token, str) else None)
    upload = form.get("document")
    try:
        yield UploadForm(upload if isinstance(upload, UploadFile) else None, ok, too_large=False)
    finally:
        await form.close()


UploadDep = Annotated[UploadForm, Depends(upload_form)]


@router.post("/organisations/{organisation_id}/documents", response_model=None)
def upload_document(
    organisation_id: uuid.UUID,
    request: Request,
    page: PageDep,
    current: SignedInDep,
    form: UploadDep,
) -> HTMLResponse | RedirectResponse:
    problem = _upload_problem(request, current.person_id, organisation_id, form)
    if problem is not None:
        return detail_page(request, page, current.person_id, organisation_id, problem=problem)
    return redirect(page, f"/organisations/{organisation_id}?updated=document_added")


def _upload_problem(
    request: Request, person_id: uuid.UUID, organisation_id: uuid.UUID, form: UploadForm
) -> str | None:
    organisations = _organisations(request)
    if form.too_large:
        return "upload.too_large"
    if not form.csrf_ok:
        return "form.expired"
    if form.upload is None:
        return "upload.missing"
    try:
        organisations.check_editable(person_id, organisation_id)
        _store(request, person_id, organisation_id, form.upload)
    except OrganisationError as error:
        return error.reason
    except UploadRefusedError as error:
        return f"upload.{error.reason}"
    return None


def _store(
    request: Request, person_id: uuid.UUID, organisation_id: uuid.UUID, upload: UploadFile
) -> None:
    organisations = _organisations(request)
    limits = request.app.state.settings.organisations
    blobs = request.app.state.blobs
    remaining = limits.upload_total_mb * MB - organisations.stored_bytes(organisation_id)
    stored = store_upload(
        upload.file,
        upload.filename or "",
        blobs,
        max_bytes=limits.upload_max_mb * MB,
        remaining_total=remaining,
    )
    document = OrganisationDocument(
        id=uuid.uuid4(),
        blob_id=stored.blob.blob_id,
        filename=stored.filename,
        content_type=stored.inspection.kind.value,
        size=stored.blob.size,
        sha256=stored.blob.sha256,
    )
    try:
        organisations.add_document(person_id, organisation_id, document)
    except BaseException:
        blobs.delete(stored.blob.blob_id)  # no orphaned blob, no half application
        raise


@router.post("/organisations/{organisation_id}/submit", response_model=None)
def submit(
    organisation_id: uuid.UUID,
    request: Request,
    page: PageDep,
    current: SignedInDep,
    *,
    form: SubmissionDep,
    organisations: OrganisationsDep,
) -> HTMLResponse | RedirectResponse:
    if not form.csrf_ok:
        return detail_page(
            request, page, current.person_id, organisation_id, problem="form.expired"
        )
    try:
        organisations.submit(current.person_id, organisation_id)
    except OrganisationError as error:
        return detail_page(request, page, current.person_id, organisation_id, problem=error.reason)
    return redirect(page, f"/organisations/{organisation_id}?updated=submitted")
