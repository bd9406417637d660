"""RFC 9457 problem details for every error the JSON surface returns.

The client sees a title and a short public detail; the log gets the private detail. Unexpected
exceptions become a 500 that names only the request id (node-oidc-provider's errors.js habit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from servicekonto.observability import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemType:
    """A problem type of ours: documented at `{issuer}/problems/{slug}`."""

    def __init__(self, slug: str, title: str, description: str) -> None:
        self.slug = slug
        self.title = title
        self.description = description

    def uri(self, issuer: str) -> str:
        return f"{issuer}/problems/{self.slug}"


VALIDATION_ERROR = ProblemType(
    "validation-error",
    "Invalid request",
    "The request is malformed or a value is out of range; `errors` lists each offending field.",
)
SERVER_ERROR = ProblemType(
    "server-error",
    "Internal error",
    "Something failed on our side. Nothing was changed; quote the request id when you report it.",
)
NOT_READY = ProblemType(
    "not-ready",
    "Service not ready",
    "The service cannot serve requests yet: the database is unreachable "
    "or its schema is not current.",
)
# The procedures' safe API (documents and cases).
INVALID_TOKEN = ProblemType(
    "invalid-token",
    "Invalid access token",
    "The bearer token is missing, expired, revoked or not a procedure's own "
    "(client_credentials) token. Get a new one from the token endpoint.",
)
INSUFFICIENT_SCOPE = ProblemType(
    "insufficient-scope",
    "Scope missing",
    "The access token lacks the scope this API needs (safe.deposit); ask for it at the token "
    "endpoint, and ask the operator to allow it for your client if it is refused there.",
)
IDEMPOTENCY_KEY_MISSING = ProblemType(
    "idempotency-key-missing",
    "Idempotency-Key missing",
    "Every POST needs an Idempotency-Key header (1 to 100 visible ASCII characters) so that a "
    "retried request is carried out once.",
)
IDEMPOTENCY_KEY_REUSED = ProblemType(
    "idempotency-key-reused",
    "Idempotency-Key used for another request",
    "This Idempotency-Key was already used with a different request. Use a new key for a new "
    "request; send the same request to get the first answer again.",
)
UNKNOWN_SUBJECT = ProblemType(
    "unknown-subject",
    "Unknown subject",
    "No person with this subject has logged in to your procedure.",
)
NOT_OPTED_IN = ProblemType(
    "safe-not-opted-in",
    "Safe not enabled for this procedure",
    "The person has not allowed your procedure to use their document safe. Send the document "
    "by other means; the person can allow it on their safe page.",
)
QUOTA_EXCEEDED = ProblemType(
    "safe-quota-exceeded",
    "Safe full",
    "The person's document safe has no room for this document.",
)
NOT_A_PDF = ProblemType(
    "not-a-pdf",
    "Not a PDF document",
    "The safe accepts PDF documents only; the uploaded content is not a readable PDF.",
)
DOCUMENT_TOO_LARGE = ProblemType(
    "document-too-large",
    "Document too large",
    "The document is larger than the safe accepts (SERVICEKONTO_SAFE_DOCUMENT_MAX_MB).",
)
UNKNOWN_CASE = ProblemType(
    "unknown-case", "Unknown case", "Your procedure has no case with this id."
)
CASE_EXISTS = ProblemType(
    "case-exists",
    "Case exists",
    "Your procedure already opened a case with this reference for this person; `case_id` "
    "names it. Report a status change to that case instead.",
)
PROBLEM_TYPES = {
    problem.slug: problem
    for problem in (
        VALIDATION_ERROR,
        SERVER_ERROR,
        NOT_READY,
        INVALID_TOKEN,
        INSUFFICIENT_SCOPE,
        IDEMPOTENCY_KEY_MISSING,
        IDEMPOTENCY_KEY_REUSED,
        UNKNOWN_SUBJECT,
        NOT_OPTED_IN,
        QUOTA_EXCEEDED,
        NOT_A_PDF,
        DOCUMENT_TOO_LARGE,
        UNKNOWN_CASE,
        CASE_EXISTS,
    )
}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem_body(
    status: int, title: str, type_uri: str = "about:blank", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_uri, "title": title, "status": status}
    body.update({key: value for key, value in extra.items() if value is not None})
    request_id = current_request_id()
    if request_id is not None:
        body.setdefault("request_id", request_id)
    return body


def problem_response(
    status: int,
    title: str,
    type_uri: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    return ProblemResponse(
        problem_body(status, title, type_uri, **extra), status_code=status, headers=headers
    )


def http_exception_problem(request: Request, exc: Exception) -> ProblemResponse:
    if not isinstance(exc, StarletteHTTPException):  # registered for this type only
        raise exc
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    return problem_response(
        exc.status_code,
        phrase,
        detail=detail,
        instance=request.url.path,
        headers=dict(exc.headers or {}),
    )


def validation_problem(request: Request, exc: Exception) -> ProblemResponse:
    if not isinstance(exc, RequestValidationError):  # registered for this type only
        raise exc
    return invalid_values(request, exc.errors())


def invalid_values(request: Request, found: Sequence[Mapping[str, Any]]) -> ProblemResponse:
    """422 listing each offending field (pydantic's `loc`, `msg`, `type` of each error)."""
    # Only where and what: the rejected input is not echoed back, it may be personal data.
    errors = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in found
    ]
    issuer = request.app.state.settings.issuer
    return problem_response(
        422,
        VALIDATION_ERROR.title,
        VALIDATION_ERROR.uri(issuer),
        detail="The request has invalid or missing values.",
        instance=request.url.path,
        errors=errors,
    )
