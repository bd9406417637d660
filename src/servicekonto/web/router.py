"""All page routes of the hosted citizen pages."""

from __future__ import annotations

from fastapi import APIRouter

from servicekonto.web.pages import (
    account,
    acting_for,
    eid,
    eid_registration,
    home,
    identity,
    interaction,
    login,
    organisation_members,
    organisations,
    password,
    personal_data,
    registration,
    registration_office,
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
        acting_for,
        safe,
        staff,
        organisations,
        organisation_members,
        registration_office,
    ):
        router.include_router(module.router)
    return router
