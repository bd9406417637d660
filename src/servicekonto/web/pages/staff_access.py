"""Who may use a staff page: the role at the authority named in the path, at level 3.

Both consoles (citizens' office, registration office) go through here, so the rule, its audit
and the way back after logging in again with the second factor are the same everywhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from servicekonto.accounts.models import StaffRole
from servicekonto.accounts.staff import StaffService
from servicekonto.authorities.schemas import AuthorityOut
from servicekonto.authorities.service import AuthorityService
from servicekonto.trust.levels import TrustLevel
from servicekonto.web.dependencies import PageDep, SignedInDep
from servicekonto.web.rendering import Page, render

STAFF_LEVEL = TrustLevel.SUBSTANTIAL


@dataclass(frozen=True)
class StaffDesk:
    """The staff member, the authority they act for, and how strong their session is."""

    page: Page
    person_id: uuid.UUID
    authority: AuthorityOut
    level: TrustLevel

    def step_up_needed(self) -> HTMLResponse | None:
        """The page asking for a login with the second factor, or None when level 3 is met."""
        if self.level >= STAFF_LEVEL:
            return None
        back = self.page.request.url.path
        return render(
            self.page, "staff_step_up.html", status=403, authority=self.authority, back=back
        )


def desk_for(role: StaffRole) -> Callable[..., StaffDesk]:
    """A dependency admitting only holders of `role` at the authority of the path."""

    def desk(slug: str, request: Request, page: PageDep, current: SignedInDep) -> StaffDesk:
        authorities: AuthorityService = request.app.state.authorities
        staff: StaffService = request.app.state.staff
        authority = authorities.by_slug(slug)
        # Another authority's staff and a made-up authority are told the same: not yours.
        if authority is None or not staff.holds(current.person_id, authority.id, role):
            staff.denied(current.person_id, slug, role)
            raise HTTPException(status_code=403)
        return StaffDesk(page, current.person_id, authority, current.level)

    return desk
