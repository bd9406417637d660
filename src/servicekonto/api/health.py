"""Liveness and readiness, for the load balancer and the orchestrator.

`/healthz` answers as long as the process serves requests. `/readyz` answers 200 only when the
database answers and its schema is at the migrations' head; otherwise 503 with the reason, so a
rolling deployment never routes traffic to an instance that would fail every request.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from servicekonto.api.problems import NOT_READY, ProblemResponse, problem_response
from servicekonto.store.readiness import check_readiness

router = APIRouter(tags=["operations"])


class Alive(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    schema_revision: str


@router.get("/healthz", response_model=Alive, summary="Process is alive")
def healthz() -> Alive:
    return Alive()


@router.get(
    "/readyz",
    response_model=Ready,
    summary="Database reachable and schema current",
    responses={
        503: {
            "description": "Not ready; `detail` says why.",
            "content": {"application/problem+json": {}},
        }
    },
)
def readyz(request: Request) -> Ready | ProblemResponse:
    readiness = check_readiness(request.app.state.database)
    if readiness.ready and readiness.revision is not None:
        return Ready(schema_revision=readiness.revision)
    issuer = request.app.state.settings.issuer
    return problem_response(
        503,
        NOT_READY.title,
        NOT_READY.uri(issuer),
        detail=readiness.reason,
        headers={"Retry-After": "5"},
    )
