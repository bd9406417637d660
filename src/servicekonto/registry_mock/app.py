"""The registry gateway's JSON API over a list of residents, as a small FastAPI app.

It speaks the contract in `servicekonto.registry.wire` and decides exactly as the in-process mock
adapter does, so the HTTP adapter can be tested against a real server. For the adapter's failure
paths it can misbehave on request (see `Faults`); the packaged synthetic data set is served by
`create_registry_mock_app_from_env`, the factory for `uvicorn --factory`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from http import HTTPStatus
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException

from servicekonto.metadata import __version__
from servicekonto.registry.csv_format import load_packaged_residents
from servicekonto.registry.mock_adapter import decide
from servicekonto.registry.port import ResidentRecord
from servicekonto.registry.wire import (
    LookupRequest,
    LookupResponse,
    ResidentOut,
    query_from_request,
    resident_to_wire,
    response_from_result,
)

TITLE = "servicekonto registry mock"
PROBLEM_MEDIA_TYPE = "application/problem+json"
_DESCRIPTION = (
    "A stand-in for the population-registry gateway (Melderegister) over synthetic residents. "
    "A lookup names the resident only when exactly one matches; an ambiguous answer names no "
    "one. Errors are RFC 9457 problem details (`application/problem+json`)."
)


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details; `errors` only for invalid input (it never echoes the input)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@dataclass
class Faults:
    """Misbehaviour for tests of a client: set on construction or later on `app.state.faults`.

    `fail_next`: that many of the next `/v1` requests answer 503 (then it serves normally).
    `delay_seconds`: every `/v1` answer waits this long first (to trip a client's timeout).
    """

    fail_next: int = 0
    delay_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take_failure(self) -> bool:
        # Handlers run in a thread pool: two requests must not both take the last failure.
        with self._lock:
            if self.fail_next <= 0:
                return False
            self.fail_next -= 1
            return True


class ResidentIndex:
    """The residents by id, and by birth date: every match agrees on it exactly."""

    def __init__(self, residents: list[ResidentRecord]) -> None:
        self._by_id = {resident.resident_id: resident for resident in residents}
        self._by_birth_date: defaultdict[date, list[ResidentRecord]] = defaultdict(list)
        for resident in residents:
            self._by_birth_date[resident.birth_date].append(resident)

    def lookup(self, request: LookupRequest) -> LookupResponse:
        query = query_from_request(request)
        return response_from_result(decide(query, self._by_birth_date.get(query.birth_date, [])))

    def resident(self, resident_id: str) -> ResidentOut | None:
        record = self._by_id.get(resident_id)
        return None if record is None else resident_to_wire(record)


def _problem_response(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}


_Responses = dict[int | str, dict[str, Any]]
_INVALID: _Responses = {
    422: _problem_response("Invalid request; `errors` names each offending field.")
}
_UNAVAILABLE: _Responses = {503: _problem_response("Temporarily unavailable (fault injection).")}


def create_registry_mock_app(
    residents: list[ResidentRecord], *, fail_next: int = 0, delay_seconds: float = 0.0
) -> FastAPI:
    """The mock gateway over these residents, optionally misbehaving (see `Faults`)."""
    app = FastAPI(title=TITLE, version=__version__, description=_DESCRIPTION)
    app.state.faults = Faults(fail_next=fail_next, delay_seconds=delay_seconds)
    app.include_router(_v1_router(ResidentIndex(residents)))
    app.include_router(_health_router())
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(RequestValidationError, _validation_problem)
    _document_problem_schema(app)
    return app


def create_registry_mock_app_from_env() -> FastAPI:
    """The mock gateway over the packaged synthetic residents (for `uvicorn --factory`)."""
    return create_registry_mock_app(load_packaged_residents())


def render_openapi() -> str:
    """The OpenAPI description, as committed in openapi/registry-mock.json (a test compares)."""
    spec = create_registry_mock_app([]).openapi()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _misbehave(request: Request) -> None:
    faults: Faults = request.app.state.faults
    if faults.delay_seconds > 0:
        time.sleep(faults.delay_seconds)
    if faults.take_failure():
        raise HTTPException(503, detail="Injected failure.")


def _v1_router(index: ResidentIndex) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["registry"], dependencies=[Depends(_misbehave)])

    @router.post(
        "/lookup",
        response_model=LookupResponse,
        response_model_exclude_none=True,
        summary="Match what a person typed against the registry",
        description=(
            "`match` carries the one matching resident; `no_match` and `ambiguous` carry no "
            "resident. Empty optional fields are omitted."
        ),
        responses={**_INVALID, **_UNAVAILABLE},
    )
    def lookup(body: LookupRequest) -> LookupResponse:
        return index.lookup(body)

    @router.get(
        "/residents/{resident_id}",
        response_model=ResidentOut,
        response_model_exclude_none=True,
        summary="A resident as registered now (their current address)",
        responses={404: _problem_response("No such resident."), **_INVALID, **_UNAVAILABLE},
    )
    def resident(resident_id: str) -> ResidentOut:
        found = index.resident(resident_id)
        if found is None:
            raise HTTPException(404, detail="No resident with this id.")
        return found

    return router


def _health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Health, summary="Process is alive")
    def healthz() -> Health:
        return Health()

    return router


def _problem(
    status: int,
    request: Request,
    *,
    title: str | None = None,
    detail: str | None = None,
    errors: list[FieldProblem] | None = None,
) -> JSONResponse:
    body = Problem(
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _http_problem(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # registered for this type only
        raise exc
    detail = exc.detail if isinstance(exc.detail, str) else None
    return _problem(exc.status_code, request, detail=detail)


def _validation_problem(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # registered for this type only
        raise exc
    # Where and what only: the rejected input is personal data and is not echoed back.
    errors = [
        FieldProblem(loc=list(error["loc"]), msg=error["msg"], type=error["type"])
        for error in exc.errors()
    ]
    detail = "The request has invalid or missing values."
    return _problem(422, request, title="Invalid request", detail=detail, errors=errors)


def _document_problem_schema(app: FastAPI) -> None:
    """Add `Problem` to the components the problem responses refer to.

    FastAPI files a response `model` under the route's own media type (`application/json`);
    problem details have their own, so the schema is referenced by hand and added here.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = generate()  # also cached on the app: the update below lands in the cache
        _, schemas = models_json_schema(
            [(Problem, "serialization")], ref_template="#/components/schemas/{model}"
        )
        spec.setdefault("components", {}).setdefault("schemas", {}).update(schemas["$defs"])
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
