"""The procedures' safe API: deposit documents, open cases, report case status.

Subjects are resolved per procedure: a subject the procedure never received in a login is 404,
whether or not such a person exists, so the answer tells a procedure nothing it did not know.
Only for a person who did log in to it does it learn that the safe is not enabled (409).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import FormData, UploadFile

from servicekonto.api.problems import (
    CASE_EXISTS,
    DOCUMENT_TOO_LARGE,
    IDEMPOTENCY_KEY_REUSED,
    NOT_A_PDF,
    NOT_OPTED_IN,
    QUOTA_EXCEEDED,
    UNKNOWN_CASE,
    UNKNOWN_SUBJECT,
    ProblemResponse,
    invalid_values,
    problem_response,
)
from servicekonto.api.safe_auth import calling_procedure, idempotency_key, problem
from servicekonto.federation.service import FederationService
from servicekonto.safe.content import chunks_of, is_pdf, sha256_of, size_of
from servicekonto.safe.errors import (
    CaseExistsError,
    IdempotencyKeyReusedError,
    NotOptedInError,
    QuotaExceededError,
    SafeError,
)
from servicekonto.safe.models import CaseStatus, Category
from servicekonto.safe.service import (
    ApiAnswer,
    CaseReport,
    Deposit,
    IdempotencyKey,
    Procedure,
    SafeService,
)
from servicekonto.store.blobs import BlobTooLargeError

router = APIRouter(prefix="/api/v1/safe", tags=["safe"])
MULTIPART_OVERHEAD = 64 * 1024  # headers and the metadata fields around the file
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
MISSING_DOCUMENT = {"loc": ["document"], "msg": "Field required", "type": "missing"}
_ERRORS: dict[int | str, dict[str, Any]] = dict.fromkeys(
    (400, 401, 403, 404, 409, 411, 413, 415, 422), _PROBLEM
)


class DocumentFields(BaseModel):
    subject: str = Field(min_length=1, max_length=100, description="`sub` as you know it.")
    title: str = Field(min_length=1, max_length=200)
    category: Category
    case_reference: str | None = Field(default=None, min_length=1, max_length=100)
    reply_by: date | None = None


class DepositedDocument(BaseModel):
    id: uuid.UUID
    title: str
    category: Category
    case_reference: str | None
    reply_by: date | None
    size: int
    sha256: str
    created_at: str


class CaseOpening(BaseModel):
    subject: str = Field(min_length=1, max_length=100)
    reference: str = Field(min_length=1, max_length=100, description="Aktenzeichen.")
    title: str = Field(min_length=1, max_length=200)
    status: CaseStatus = CaseStatus.RECEIVED
    message: str = Field(default="", max_length=500)


class StatusReport(BaseModel):
    status: CaseStatus
    message: str = Field(default="", max_length=500)


class CaseOut(BaseModel):
    id: uuid.UUID
    reference: str
    title: str
    status: CaseStatus
    updated_at: str


def _safe(request: Request) -> SafeService:
    service: SafeService = request.app.state.safe
    return service


def _person(request: Request, procedure: Procedure, subject: str) -> uuid.UUID | None:
    federation: FederationService = request.app.state.federation
    return federation.person_for_subject(procedure.client_id, subject)


def _answer(answer: ApiAnswer) -> JSONResponse:
    headers = {"idempotent-replayed": "true"} if answer.replayed else None
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


def _refusal(request: Request, error: SafeError) -> ProblemResponse:
    if isinstance(error, NotOptedInError):
        return problem(request, NOT_OPTED_IN, 409)
    if isinstance(error, QuotaExceededError):
        return problem(request, QUOTA_EXCEEDED, 409)
    if isinstance(error, IdempotencyKeyReusedError):
        return problem(request, IDEMPOTENCY_KEY_REUSED, 422)
    if isinstance(error, CaseExistsError):
        return problem(request, CASE_EXISTS, 409, case_id=error.case_id)
    return problem(request, UNKNOWN_CASE, 404)


# --- documents -------------------------------------------------------------------------------


async def deposit_form(request: Request) -> AsyncIterator[FormData | ProblemResponse]:
    """The multipart form, after the declared length was checked against the limit."""
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        yield problem_response(411, "Length Required", detail="Send a Content-Length header.")
        return
    if int(length) > _safe(request).document_max_bytes + MULTIPART_OVERHEAD:
        yield problem(request, DOCUMENT_TOO_LARGE, 413)
        return
    form = await request.form(max_files=1, max_fields=10, max_part_size=4096)
    try:
        yield form
    finally:
        await form.close()


FormDep = Annotated[FormData | ProblemResponse, Depends(deposit_form)]


@router.post(
    "/documents",
    status_code=201,
    response_model=DepositedDocument,
    responses=_ERRORS,
    summary="Deposit a PDF in a person's safe (multipart: the fields and `document`)",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "allOf": [{"$ref": "#/components/schemas/DocumentFields"}],
                        "properties": {"document": {"type": "string", "format": "binary"}},
                        "required": ["document"],
                    }
                }
            }
        }
    },
)
def deposit_document(request: Request, form: FormDep) -> JSONResponse | ProblemResponse:
    procedure = calling_procedure(request)
    if isinstance(procedure, ProblemResponse):
        return procedure
    if isinstance(form, ProblemResponse):
        return form
    parsed = _document_fields(request, form)
    if isinstance(parsed, ProblemResponse):
        return parsed
    fields, upload = parsed
    return _deposit(request, procedure, fields, upload)


def _document_fields(
    request: Request, form: FormData
) -> tuple[DocumentFields, UploadFile] | ProblemResponse:
    values = {key: value for key, value in form.items() if isinstance(value, str) and value}
    upload = form.get("document")
    try:
        fields = DocumentFields.model_validate(values)
    except ValidationError as error:
        return invalid_values(request, error.errors())
    if not isinstance(upload, UploadFile):
        return invalid_values(request, [MISSING_DOCUMENT])
    return fields, upload


def _deposit(
    request: Request, procedure: Procedure, fields: DocumentFields, upload: UploadFile
) -> JSONResponse | ProblemResponse:
    content = upload.file
    described = {"fields": fields.model_dump(mode="json"), "sha256": sha256_of(content)}
    idempotency = idempotency_key(request, procedure, described)
    if isinstance(idempotency, ProblemResponse):
        return idempotency
    try:
        outcome = _store(request, procedure, fields, content, idempotency)
    except SafeError as error:
        return _refusal(request, error)
    except BlobTooLargeError:
        return problem(request, DOCUMENT_TOO_LARGE, 413)
    return outcome if isinstance(outcome, ProblemResponse) else _answer(outcome)


def _store(
    request: Request,
    procedure: Procedure,
    fields: DocumentFields,
    content: BinaryIO,
    idempotency: IdempotencyKey,
) -> ApiAnswer | ProblemResponse:
    safe = _safe(request)
    earlier = safe.answered(idempotency)
    if earlier is not None:
        return earlier
    person_id = _person(request, procedure, fields.subject)
    if person_id is None:
        return problem(request, UNKNOWN_SUBJECT, 404)
    safe.check_may_deposit(procedure, person_id)
    refused = _unacceptable(request, safe, content)
    if refused is not None:
        return refused
    deposit = Deposit(fields.title, fields.category, fields.case_reference, fields.reply_by)
    return safe.deposit(procedure, person_id, deposit, chunks_of(content), idempotency)


def _unacceptable(request: Request, safe: SafeService, content: BinaryIO) -> ProblemResponse | None:
    if size_of(content) > safe.document_max_bytes:
        return problem(request, DOCUMENT_TOO_LARGE, 413)
    if not is_pdf(content):
        return problem(request, NOT_A_PDF, 415)
    return None


# --- cases -----------------------------------------------------------------------------------


@router.post(
    "/cases",
    status_code=201,
    response_model=CaseOut,
    responses=_ERRORS,
    summary="Open a case for a person, with its first status",
)
def open_case(request: Request, opening: CaseOpening) -> JSONResponse | ProblemResponse:
    procedure = calling_procedure(request)
    if isinstance(procedure, ProblemResponse):
        return procedure
    idempotency = idempotency_key(request, procedure, opening.model_dump(mode="json"))
    if isinstance(idempotency, ProblemResponse):
        return idempotency
    report = CaseReport(opening.reference, opening.title, opening.status, opening.message)
    try:
        earlier = _safe(request).answered(idempotency)
        if earlier is not None:
            return _answer(earlier)
        person_id = _person(request, procedure, opening.subject)
        if person_id is None:
            return problem(request, UNKNOWN_SUBJECT, 404)
        answer = _safe(request).open_case(procedure, person_id, report, idempotency)
    except SafeError as error:
        return _refusal(request, error)
    return _answer(answer)


@router.post(
    "/cases/{case_id}/status",
    response_model=CaseOut,
    responses=_ERRORS,
    summary="Report a new status of a case, with a short message to the person",
)
def report_status(
    request: Request, case_id: uuid.UUID, report: StatusReport
) -> JSONResponse | ProblemResponse:
    procedure = calling_procedure(request)
    if isinstance(procedure, ProblemResponse):
        return procedure
    idempotency = idempotency_key(request, procedure, report.model_dump(mode="json"))
    if isinstance(idempotency, ProblemResponse):
        return idempotency
    try:
        answer = _safe(request).answered(idempotency) or _safe(request).report_status(
            procedure, case_id, report.status, report.message, idempotency
        )
    except SafeError as error:
        return _refusal(request, error)
    return _answer(answer)
