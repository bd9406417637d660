"""The `organisation` claim: who the person acts for, as procedures receive it.

Looked up afresh for every token, so a member removed from an organisation stops being able to
act for it with the procedure's next token.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from servicekonto.organisations.models import Membership, Organisation, VerificationState
from servicekonto.store.engine import Database


class OrganisationClaims:
    def __init__(self, database: Database) -> None:
        self._database = database

    def claim(self, person_id: uuid.UUID, organisation_id: uuid.UUID) -> dict[str, Any] | None:
        """The claim, or None if the person is not (or no longer) a member."""
        with self._database.unit_of_work() as uow:
            row = uow.session.execute(
                select(Organisation, Membership.role)
                .join(Membership, Membership.organisation_id == Organisation.id)
                .where(Organisation.id == organisation_id, Membership.person_id == person_id)
            ).one_or_none()
            if row is None:
                return None
            organisation, role = row
            return {
                "id": str(organisation.id),
                "name": organisation.name,
                "legal_form": organisation.legal_form,
                "register_court": organisation.register_court,
                "register_number": organisation.register_entry,
                "verification_state": organisation.state,
                "role": role,
            }

    def verified(self, organisation_id: uuid.UUID) -> bool:
        with self._database.unit_of_work() as uow:
            state = uow.session.scalar(select(Organisation.state).filter_by(id=organisation_id))
            return state == VerificationState.VERIFIED.value
