"""Demo staff (one clerk per authority) and two demo companies of the demo citizen.

The clerks are seeded as registry-proven so that, after setting up an authenticator app on their
account page, their sessions reach level `substantial`, which the staff pages require. The
companies are invented: one already verified by VG Cochem, one waiting at VG Kaisersesch.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update

from servicekonto.accounts.context import build_account_context
from servicekonto.accounts.models import Person, StaffRole
from servicekonto.accounts.service import AccountService
from servicekonto.accounts.staff import StaffService
from servicekonto.accounts.validation import PersonalData
from servicekonto.authorities.schemas import AuthorityOut
from servicekonto.clock import Clock
from servicekonto.config import Settings
from servicekonto.mail.senders import build_mail_sender
from servicekonto.organisations.models import Organisation, OrganisationDocument
from servicekonto.organisations.routing import responsible_authority
from servicekonto.organisations.schemas import validate_organisation
from servicekonto.organisations.service import OrganisationService
from servicekonto.organisations.uploads import store_upload
from servicekonto.organisations.verification import Decision, RegistrationOffice, StaffMember
from servicekonto.safe.demo_documents import demo_pdf
from servicekonto.store.blob_settings import blob_store_from_settings
from servicekonto.store.engine import Database
from servicekonto.trust.levels import IdentityProofing

DEMO_STAFF_PASSWORD = "Akten am Moselufer"
BLURB = "Beispiel aus den Demodaten des ServiceKontos."
MB = 1024 * 1024
# (authority slug, the part of its name a clerk is called by, postal code, town)
_OFFICES = {
    "kreis-cochem-zell": ("Kreisverwaltung", "56812", "Cochem"),
    "vg-cochem": ("Cochem", "56812", "Cochem"),
    "vg-zell": ("Zell", "56856", "Zell"),
    "vg-ulmen": ("Ulmen", "56766", "Ulmen"),
    "vg-kaisersesch": ("Kaisersesch", "56759", "Kaisersesch"),
}
COMPANIES = (
    {
        "kind": "company",
        "name": "Moselblick Weinbau GmbH",
        "legal_form": "GmbH",
        "street": "Moselstraße",
        "house_number": "20",
        "postal_code": "56812",
        "city": "Cochem",
        "register_type": "HRB",
        "register_number": "4711",
        "register_court": "Amtsgericht Koblenz",
    },
    {
        "kind": "association",
        "name": "Heimatverein Eifelblick e.V.",
        "legal_form": "eingetragener Verein",
        "street": "Bahnhofstraße",
        "house_number": "2",
        "postal_code": "56759",
        "city": "Kaisersesch",
        "register_type": "VR",
        "register_number": "815",
        "register_court": "Amtsgericht Koblenz",
    },
)


@dataclass(frozen=True)
class DemoClerk:
    email: str
    authority: str
    person_id: uuid.UUID


def seed_staff(
    settings: Settings, database: Database, clock: Clock, authorities: list[AuthorityOut]
) -> tuple[list[dict[str, str]], int]:
    """One clerk per authority, with both staff roles; (what to print, how many were new)."""
    context = build_account_context(settings, database, clock, build_mail_sender(settings))
    accounts, staff = AccountService(context), StaffService(database, clock)
    shown, created = [], 0
    for authority in authorities:
        called, postal_code, city = _OFFICES.get(authority.slug, ("Verwaltung", "56812", "Cochem"))
        email = f"sachbearbeitung@{authority.slug}.example"
        person_id, new = accounts.ensure_confirmed_person(
            email, DEMO_STAFF_PASSWORD, _clerk(called, postal_code, city), locale="de"
        )
        _registry_proven(database, person_id)
        for role in StaffRole:
            staff.add(email, authority.id, role, "cli:demo")
        created += int(new)
        shown.append({"authority": authority.slug, "email": email, "password": DEMO_STAFF_PASSWORD})
    return shown, created


def _clerk(called: str, postal_code: str, city: str) -> PersonalData:
    return PersonalData(
        academic_title=None,
        given_names="Sachbearbeitung",
        family_name=called,
        birth_name=None,
        birth_date=date(1980, 1, 1),
        birth_place=city,
        street="Rathausplatz",
        house_number="1",
        postal_code=postal_code,
        city=city,
    )


def _registry_proven(database: Database, person_id: uuid.UUID) -> None:
    with database.unit_of_work() as uow:
        uow.session.execute(
            update(Person)
            .where(Person.id == person_id, Person.identity_proofing == "self_declared")
            .values(identity_proofing=IdentityProofing.REGISTRY_LETTER.value)
        )
        uow.commit()


def seed_companies(
    settings: Settings,
    database: Database,
    clock: Clock,
    owner: uuid.UUID,
    clerks: dict[str, uuid.UUID],
) -> list[dict[str, Any]]:
    """The demo citizen's two companies: one verified, one waiting for its office."""
    organisations = OrganisationService(database, clock, responsible_authority)
    office = RegistrationOffice(
        database, clock, blob_store_from_settings(settings), four_eyes=False
    )
    existing = {entry.organisation.name for entry in organisations.mine(owner)}
    for form, verify in zip(COMPANIES, (True, False), strict=True):
        if form["name"] in existing:
            continue
        data, errors = validate_organisation(form)
        assert data is not None, errors  # noqa: S101 - fixed demo data
        organisation_id = organisations.create(owner, data)
        extract = demo_pdf(f"Registerauszug {form['name']}", [BLURB], clock.now().date())
        _add_extract(settings, organisations, (owner, organisation_id), extract)
        organisations.submit(owner, organisation_id)
        if verify:
            authority_id = _authority_of(database, organisation_id)
            clerk = clerks.get(responsible_authority(form["postal_code"], form["city"]))
            if clerk is not None:
                office.decide(
                    StaffMember(clerk, authority_id), organisation_id, Decision.VERIFIED, ""
                )
    return [
        {"name": entry.organisation.name, "state": entry.organisation.state}
        for entry in organisations.mine(owner)
    ]


def _add_extract(
    settings: Settings,
    organisations: OrganisationService,
    whose: tuple[uuid.UUID, uuid.UUID],
    content: bytes,
) -> None:
    owner, organisation_id = whose
    stored = store_upload(
        io.BytesIO(content),
        "registerauszug.pdf",
        blob_store_from_settings(settings),
        max_bytes=settings.organisations.upload_max_mb * MB,
        remaining_total=settings.organisations.upload_total_mb * MB,
    )
    organisations.add_document(
        owner,
        organisation_id,
        OrganisationDocument(
            id=uuid.uuid4(),
            blob_id=stored.blob.blob_id,
            filename=stored.filename,
            content_type=stored.inspection.kind.value,
            size=stored.blob.size,
            sha256=stored.blob.sha256,
        ),
    )


def _authority_of(database: Database, organisation_id: uuid.UUID) -> uuid.UUID:
    with database.unit_of_work() as uow:
        found: uuid.UUID = uow.session.scalars(
            select(Organisation.authority_id).filter_by(id=organisation_id)
        ).one()
        return found
