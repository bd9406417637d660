"""The identity check as JSON for the signed-in browser: status, and entering the PIN.

Authenticated by the session cookie. A cross-site page cannot send this JSON without a CORS
preflight, which we never answer, and a foreign Origin is refused outright: so no CSRF token.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from servicekonto.accounts.login import CurrentSession, LoginService
from servicekonto.api.problems import ProblemResponse, problem_response
from servicekonto.registration.context import IdentityContext
from servicekonto.registration.service import PinStatus

router = APIRouter(prefix="/api/v1/identity", tags=["identity"])
_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


class IdentityStatus(BaseModel):
    state: str | None = Field(description="pending, matched, no_match, ambiguous or bound.")
    waiting_for_registry: bool
    letter_status: str | None
    letter_expires_at: str | None
    attempts_left: int | None


class PinEntry(BaseModel):
    pin: str = Field(max_length=40, description="The PIN from the letter; spaces ignored.")


class PinResult(BaseModel):
    status: Literal["bound"]


def _signed_in(request: Request) -> CurrentSession | None:
    login: LoginService = request.app.state.login_service
    cookie = request.cookies.get(request.app.state.settings.session.cookie_name)
    current = login.current(cookie)
    return current if current is not None and not current.second_factor_pending else None


def _foreign_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is not None and origin != request.app.state.settings.issuer


def _unauthorized() -> ProblemResponse:
    return problem_response(401, "Unauthorized", detail="Sign in first.")


@router.get("", response_model=IdentityStatus, responses={401: _PROBLEM})
def identity_status(request: Request) -> IdentityStatus | ProblemResponse:
    current = _signed_in(request)
    if current is None:
        return _unauthorized()
    identity: IdentityContext = request.app.state.identity
    view = identity.checks.view(current.person_id)
    letter = view.letter
    return IdentityStatus(
        state=view.state,
        waiting_for_registry=view.waiting_for_registry,
        letter_status=letter.status if letter else None,
        letter_expires_at=letter.expires_at.isoformat() if letter else None,
        attempts_left=letter.attempts_left if letter else None,
    )


@router.post(
    "/pin",
    response_model=PinResult,
    responses={
        401: _PROBLEM,
        403: _PROBLEM,
        409: _PROBLEM,
        422: _PROBLEM,
        429: _PROBLEM,
        503: _PROBLEM,
    },
)
def enter_pin(request: Request, entry: PinEntry) -> PinResult | ProblemResponse:
    current = _signed_in(request)
    if current is None:
        return _unauthorized()
    if _foreign_origin(request):
        return problem_response(403, "Forbidden", detail="Requests from other sites are refused.")
    identity: IdentityContext = request.app.state.identity
    client = request.client.host if request.client else None
    outcome = identity.checks.enter_pin(current.person_id, entry.pin, client)
    if outcome.status == PinStatus.BOUND:
        return PinResult(status="bound")
    status, headers = _STATUS[outcome.status], None
    if outcome.status == PinStatus.THROTTLED:
        headers = {"Retry-After": str(outcome.retry_after)}
    return problem_response(
        status,
        _TITLES[status],
        detail=outcome.status.value,
        headers=headers,
        attempts_left=outcome.attempts_left or None,
    )


_STATUS = {
    PinStatus.WRONG: 422,
    PinStatus.INVALID: 422,
    PinStatus.USED_UP: 409,
    PinStatus.EXPIRED: 409,
    PinStatus.NO_LETTER: 409,
    PinStatus.MOVED: 409,
    PinStatus.REGISTRY_UNAVAILABLE: 503,
    PinStatus.THROTTLED: 429,
}
_TITLES = {
    409: "Conflict",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    503: "Service Unavailable",
}
