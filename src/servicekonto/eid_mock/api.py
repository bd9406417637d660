"""The mock eID-Server's JSON API: `useID` and `getResult` of TR-03130 in our JSON profile."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from servicekonto.eid.port import EidFailure
from servicekonto.eid.wire import (
    FailureOut,
    ResultOut,
    StartRequest,
    StartResponse,
    attributes_to_wire,
)
from servicekonto.eid_mock.store import EidMockStore

CLIENT_PAGE = "client_page"  # route name of the stand-in eID client (client_page.py)

# The body's `failure` is what a client acts on; the status sorts refusals of the request from
# eID runs that ended without identifying anyone (403). 422 stays FastAPI's invalid input.
STATUS_OF = {
    EidFailure.SESSION_MISMATCH: 400,
    EidFailure.UNKNOWN_SESSION: 404,
    EidFailure.RESULT_REPLAYED: 409,
    EidFailure.RESULT_EXPIRED: 410,
    EidFailure.CANCELLED: 403,
    EidFailure.CARD_EXPIRED: 403,
    EidFailure.CARD_REVOKED: 403,
    EidFailure.PIN_BLOCKED: 403,
}
_DETAIL_OF = {
    EidFailure.UNKNOWN_SESSION: "No session with this id.",
    EidFailure.SESSION_MISMATCH: "The result reference does not belong to this session.",
    EidFailure.RESULT_REPLAYED: "The result reference was used before.",
    EidFailure.RESULT_EXPIRED: "The result reference is too old.",
    EidFailure.CANCELLED: "The person cancelled in the eID client.",
    EidFailure.CARD_EXPIRED: "The card has expired.",
    EidFailure.CARD_REVOKED: "The card is on the revocation list.",
    EidFailure.PIN_BLOCKED: "The card's PIN is blocked.",
}


class RefusedError(Exception):
    """Raised by a handler to answer with a failure (see `failure_response`)."""

    def __init__(self, failure: EidFailure) -> None:
        self.failure = failure
        super().__init__(failure.value)


def failure_response(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RefusedError):  # registered for this type only
        raise exc
    body = {"failure": exc.failure.value, "detail": _DETAIL_OF[exc.failure]}
    return JSONResponse(body, status_code=STATUS_OF[exc.failure])


def _failures(*failures: EidFailure) -> dict[int | str, dict[str, Any]]:
    by_status: dict[int, list[str]] = {}
    for failure in failures:
        by_status.setdefault(STATUS_OF[failure], []).append(f"`{failure.value}`")
    return {
        status: {"model": FailureOut, "description": "Refused: " + ", ".join(names) + "."}
        for status, names in by_status.items()
    }


def api_router(store: EidMockStore) -> APIRouter:
    router = APIRouter(prefix="/eid/v1", tags=["eid"])

    @router.post(
        "/sessions",
        status_code=201,
        response_model=StartResponse,
        summary="Open a session (TR-03130 useID)",
        description="`client_url` is the page standing in for the person's eID client.",
    )
    def start_session(body: StartRequest, request: Request) -> StartResponse:
        session_id = store.open_session(body.return_url, body.sector, body.attributes)
        client_url = request.url_for(CLIENT_PAGE).include_query_params(session=session_id)
        return StartResponse(session_id=session_id, client_url=str(client_url))

    @router.get(
        "/sessions/{session_id}/result",
        response_model=ResultOut,
        response_model_exclude_none=True,
        summary="Fetch the result once (TR-03130 getResult)",
        description=(
            "`ref` is the `result_ref` the browser brought back to the refresh address. It can "
            "be used once, for this session only, within ten minutes. Attributes that were not "
            "asked for, and a birth name the card does not hold, are omitted."
        ),
        responses=_failures(*STATUS_OF),
    )
    def fetch_result(session_id: str, ref: Annotated[str, Query(min_length=1)]) -> ResultOut:
        outcome = store.take_result(session_id, ref)
        if isinstance(outcome, EidFailure):
            raise RefusedError(outcome)
        session = store.session(session_id)
        requested = session.attributes if session is not None else ()
        return attributes_to_wire(session_id, outcome, requested)

    return router
