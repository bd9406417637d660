"""Each of our problem types is documented at its own type URI (RFC 9457 §3.1.1)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from servicekonto.api.problems import PROBLEM_TYPES

router = APIRouter(tags=["operations"])


class ProblemTypeDoc(BaseModel):
    slug: str
    title: str
    description: str


@router.get("/problems/{slug}", response_model=ProblemTypeDoc, summary="What a problem type means")
def problem_type(slug: str) -> ProblemTypeDoc:
    problem = PROBLEM_TYPES.get(slug)
    if problem is None:
        raise HTTPException(status_code=404, detail="There is no problem type of that name.")
    return ProblemTypeDoc(slug=problem.slug, title=problem.title, description=problem.description)
