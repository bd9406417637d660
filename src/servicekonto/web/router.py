"""All page routes of the hosted citizen pages."""

from __future__ import annotations

from fastapi import APIRouter

from servicekonto.web.pages import (
    account,
    eid,
    eid_registration,
    home,
    identity,
    interaction,
    login,
    password,
    personal_data,
    registration,
    safe,
    security,
    staff,
)


def page_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for module in (
        home,
        registration,
        login,
        password,
        account,
        eid,
        eid_registration,
        security,
        identity,
        personal_data,
        interaction,
        safe,
        staff,
    ):
        router.include_router(module.router)
    return router
