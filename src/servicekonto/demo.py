"""Demo data: the district of Cochem-Zell and its four municipal associations.

`servicekonto demo` runs this; it is idempotent (a second run creates nothing and reports the
same entities). Later capabilities add their demo accounts, clients and documents here.
"""

from __future__ import annotations

import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from servicekonto.accounts.context import build_account_context
from servicekonto.accounts.models import Person
from servicekonto.accounts.service import AccountService
from servicekonto.accounts.validation import PersonalData
from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.repository import AuthorityRepository
from servicekonto.authorities.schemas import AuthorityOut, AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clients.schemas import ClientSpec
from servicekonto.clients.service import ClientService
from servicekonto.clients.service import digester_for as client_digester
from servicekonto.clock import Clock
from servicekonto.config import Settings
from servicekonto.demo_organisations import DEMO_STAFF_PASSWORD, seed_companies, seed_staff
from servicekonto.demo_saml import seed_demo_sp
from servicekonto.errors import ConfigurationError
from servicekonto.federation.service import FederationService
from servicekonto.keys.service import KeyService
from servicekonto.mail.senders import build_mail_sender
from servicekonto.registry.csv_format import load_packaged_residents
from servicekonto.registry.importer import import_residents
from servicekonto.registry.repository import ResidentRepository
from servicekonto.safe.demo_documents import dog_registration_receipt, dog_tax_notice
from servicekonto.safe.errors import CaseExistsError
from servicekonto.safe.models import CaseStatus, Category
from servicekonto.safe.preferences import SafePreferences
from servicekonto.safe.service import CaseReport, Deposit, IdempotencyKey, Procedure, SafeService
from servicekonto.store.blob_settings import blob_store_from_settings
from servicekonto.store.engine import Database

DEMO_ACTOR = "cli:demo"
DISTRICT_SLUG = "kreis-cochem-zell"

# The real administrative structure of the Landkreis Cochem-Zell (Rhineland-Palatinate) since the
# 2014 merger of its Verbandsgemeinden: the district administration and four associations.
DEMO_AUTHORITIES = (
    AuthoritySpec(
        slug=DISTRICT_SLUG, name="Kreisverwaltung Cochem-Zell", kind=AuthorityKind.DISTRICT
    ),
    *(
        AuthoritySpec(
            slug=slug,
            name=name,
            kind=AuthorityKind.MUNICIPAL_ASSOCIATION,
            parent_slug=DISTRICT_SLUG,
        )
        for slug, name in (
            ("vg-cochem", "Verbandsgemeindeverwaltung Cochem"),
            ("vg-zell", "Verbandsgemeindeverwaltung Zell (Mosel)"),
            ("vg-ulmen", "Verbandsgemeindeverwaltung Ulmen"),
            ("vg-kaisersesch", "Verbandsgemeindeverwaltung Kaisersesch"),
        )
    ),
)


# The demo citizen carries the specimen name and birth data printed on the Federal Ministry of
# the Interior's sample ID card (Erika Mustermann, born 12.08.1964 in Berlin) — a placeholder
# every German administration recognises — with an address in the district.
DEMO_CITIZEN_EMAIL = "erika.mustermann@example.org"
DEMO_CITIZEN_PASSWORD = "Kaffee am Moselufer"
DEMO_CITIZEN = PersonalData(
    academic_title=None,
    given_names="Erika",
    family_name="Mustermann",
    birth_name="Gabler",
    birth_date=date(1964, 8, 12),
    birth_place="Berlin",
    street="Musterstraße",
    house_number="1",
    postal_code="56812",
    city="Cochem",
)


@dataclass
class DemoReport:
    issuer: str
    authorities: list[AuthorityOut] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    citizen: dict[str, str] = field(default_factory=dict)
    # Invented registry residents: register as one of them to receive a PIN letter.
    residents: list[dict[str, str]] = field(default_factory=list)
    procedure: dict[str, str] = field(default_factory=dict)
    saml_provider: dict[str, str] = field(default_factory=dict)
    staff: list[dict[str, str]] = field(default_factory=list)
    organisations: list[dict[str, Any]] = field(default_factory=list)

    def urls(self) -> dict[str, str]:
        return {
            "service": self.issuer,
            "health": f"{self.issuer}/healthz",
            "readiness": f"{self.issuer}/readyz",
            "login": f"{self.issuer}/login",
            "openapi": f"{self.issuer}/api/openapi.json",
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "urls": self.urls(),
            "created": self.created,
            "authorities": [authority.model_dump(mode="json") for authority in self.authorities],
            "citizen": self.citizen,
            "registry_residents": self.residents,
            "procedure": self.procedure,
            "saml_provider": self.saml_provider,
            "staff": self.staff,
            "organisations": self.organisations,
        }


def refuse_production(settings: Settings) -> None:
    if settings.env == "production":
        # The demo citizen's password is printed in the README: never in a real deployment.
        raise ConfigurationError(
            "`servicekonto demo` is for development; it refuses to run in production"
        )


def seed_demo(settings: Settings, database: Database, clock: Clock) -> DemoReport:
    refuse_production(settings)
    report = DemoReport(issuer=settings.issuer)
    service = AuthorityService(database, clock)
    created = 0
    for spec in DEMO_AUTHORITIES:
        ensured = service.ensure(spec, actor=DEMO_ACTOR)
        report.authorities.append(ensured.authority)
        created += ensured.created
    report.created["authorities"] = created
    _seed_citizen(settings, database, clock, report)
    _seed_registry(database, report)
    KeyService(settings, database, clock).ensure_keys()
    _seed_procedure(settings, database, clock, report)
    report.saml_provider = seed_demo_sp(settings, database, clock)
    _seed_safe(settings, database, clock, report)
    _seed_organisations(settings, database, clock, report)
    return report


def _seed_organisations(
    settings: Settings, database: Database, clock: Clock, report: DemoReport
) -> None:
    report.staff, report.created["staff"] = seed_staff(
        settings, database, clock, report.authorities
    )
    clerks = {entry["authority"]: _person_id(database, entry["email"]) for entry in report.staff}
    owner = uuid.UUID(report.citizen["id"])
    report.organisations = seed_companies(settings, database, clock, owner, clerks)


DEMO_RESIDENTS_SHOWN = 5
DEMO_PROCEDURE_ID = "vg-cochem.hundeanmeldung"
DEMO_PROCEDURE_SECRET = "sk_cs_demo-hundeanmeldung-not-secret"
DEMO_REDIRECT_URI = "http://127.0.0.1:8765/callback"


def _seed_procedure(
    settings: Settings, database: Database, clock: Clock, report: DemoReport
) -> None:
    """The dog registration of VG Cochem as a relying party with documented credentials."""
    clients = ClientService(database, clock, client_digester(_secret(settings)))
    if clients.get(DEMO_PROCEDURE_ID) is None:
        with database.session() as session:
            authority = AuthorityRepository(session).by_slug("vg-cochem")
        if authority is None:
            return
        spec = ClientSpec(
            client_id=DEMO_PROCEDURE_ID,
            name="Hundeanmeldung",
            authority="vg-cochem",
            redirect_uris=[DEMO_REDIRECT_URI],
            post_logout_redirect_uris=["http://127.0.0.1:8765/"],
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
            scopes=["openid", "profile", "email", "address", "birth", "safe.deposit"],
            client_uri="http://127.0.0.1:8765/",
            # The demo citizen is self-declared (level 1); a real dog registration would ask for 2.
            default_trust_level=1,
            minimum_trust_level=1,
        )
        clients.add(spec, authority.id, DEMO_ACTOR)
        report.created["procedures"] = 1
    else:
        report.created["procedures"] = 0
    clients.rotate_secret(DEMO_PROCEDURE_ID, DEMO_ACTOR, secret=DEMO_PROCEDURE_SECRET)
    report.procedure = {
        "client_id": DEMO_PROCEDURE_ID,
        "client_secret": DEMO_PROCEDURE_SECRET,
        "redirect_uri": DEMO_REDIRECT_URI,
        "discovery": f"{settings.issuer}/.well-known/openid-configuration",
    }


DEMO_CASE_REFERENCE = "HA-2026-0042"


def _seed_safe(settings: Settings, database: Database, clock: Clock, report: DemoReport) -> None:
    """The demo procedure has had a login from the demo citizen and left two documents."""
    person_id = uuid.UUID(report.citizen["id"])
    client = ClientService(database, clock, client_digester(_secret(settings))).get(
        DEMO_PROCEDURE_ID
    )
    if client is None:
        return
    # The demo procedure has public subjects: its `sub` for the citizen is the person id.
    FederationService(database, clock).remember_subject(
        DEMO_PROCEDURE_ID, str(person_id), person_id
    )
    SafePreferences(database, clock).opt_in(person_id, DEMO_PROCEDURE_ID)
    safe = SafeService(database, clock, blob_store_from_settings(settings), settings.safe)
    report.created["safe_documents"] = 0
    if safe.documents(person_id, client_id=DEMO_PROCEDURE_ID):
        return
    procedure = Procedure(client.client_id, client.name, client.authority_id)
    today = clock.now().date()
    documents = (
        ("receipt", "Eingangsbestätigung Hundeanmeldung", dog_registration_receipt(today)),
        ("notice", "Hundesteuerbescheid", dog_tax_notice(today)),
    )
    for category, title, content in documents:
        deposit = Deposit(title, Category(category), DEMO_CASE_REFERENCE, None)
        key = IdempotencyKey(DEMO_PROCEDURE_ID, f"demo-{category}-{person_id}", category)
        safe.deposit(procedure, person_id, deposit, [content], key)
        report.created["safe_documents"] += 1
    report_case = CaseReport(
        DEMO_CASE_REFERENCE, "Hundeanmeldung", CaseStatus.DECIDED, "Der Bescheid liegt im Safe."
    )
    key = IdempotencyKey(DEMO_PROCEDURE_ID, f"demo-case-{person_id}", "case")
    with suppress(CaseExistsError):  # a documents-only reset keeps the case
        safe.open_case(procedure, person_id, report_case, key)


def _secret(settings: Settings) -> str:
    return settings.secret


def _seed_registry(database: Database, report: DemoReport) -> None:
    """Load the synthetic residents once, and name a few a new user can register as."""
    with database.session() as session:
        empty = ResidentRepository(session).count() == 0
    if empty:
        import_residents(database, load_packaged_residents())
    report.created["registry_residents"] = len(load_packaged_residents()) if empty else 0
    with database.session() as session:
        shown = ResidentRepository(session).first(DEMO_RESIDENTS_SHOWN)
    report.residents = [
        {
            "given_names": resident.given_names,
            "family_name": resident.family_name,
            "birth_name": resident.birth_name or "",
            "birth_date": resident.birth_date.isoformat(),
            "street": resident.address.street,
            "house_number": resident.address.house_number,
            "postal_code": resident.address.postal_code,
            "city": resident.address.city,
        }
        for resident in shown
    ]


def _seed_citizen(settings: Settings, database: Database, clock: Clock, report: DemoReport) -> None:
    context = build_account_context(settings, database, clock, build_mail_sender(settings))
    person_id, created = AccountService(context).ensure_confirmed_person(
        DEMO_CITIZEN_EMAIL, DEMO_CITIZEN_PASSWORD, DEMO_CITIZEN, locale="de"
    )
    report.created["citizens"] = int(created)
    report.citizen = {
        "id": str(person_id),
        "email": DEMO_CITIZEN_EMAIL,
        "password": DEMO_CITIZEN_PASSWORD,
        "name": f"{DEMO_CITIZEN.given_names} {DEMO_CITIZEN.family_name}",
        "login_url": f"{settings.issuer}/login",
        "trust_level": "1 (basic: not yet checked against the registry)",
    }


def render_text(report: DemoReport) -> str:
    lines = [
        "Demo data is ready.",
        "",
        f"Authorities ({report.created.get('authorities', 0)} new):",
        *(f"  {authority.slug:<18} {authority.name}" for authority in report.authorities),
        "",
        "Demo citizen (log in at " + report.urls()["login"] + "):",
        f"  e-mail    {report.citizen.get('email', '')}",
        f"  password  {report.citizen.get('password', '')}",
        "",
        "Register as one of these invented registry residents to get a PIN letter",
        "(with SERVICEKONTO_ENV=demo it appears in the demo letterbox on the account page):",
        *(
            f"  {r['given_names']} {r['family_name']}, born {r['birth_date']}, "
            f"{r['street']} {r['house_number']}, {r['postal_code']} {r['city']}"
            for r in report.residents
        ),
        "",
        "Demo procedure (OpenID Connect relying party):",
        *(f"  {name:<14} {value}" for name, value in report.procedure.items()),
        "",
        "Demo procedure (SAML service provider; key pair and metadata on this machine):",
        *(f"  {name:<14} {value}" for name, value in report.saml_provider.items()),
        "",
        "Staff (one per authority; set up an authenticator app on the account page first,",
        "the staff pages need level 3): password " + DEMO_STAFF_PASSWORD,
        *(f"  {s['authority']:<18} {s['email']}" for s in report.staff),
        "",
        "The demo citizen's organisations:",
        *(f"  {o['name']} ({o['state']})" for o in report.organisations),
        "",
        "Try it:",
        *(f"  {name:<10} {url}" for name, url in report.urls().items()),
    ]
    return "\n".join(lines)


def _person_id(database: Database, email: str) -> uuid.UUID:
    with database.session() as session:
        found: uuid.UUID = session.scalars(select(Person.id).filter_by(email=email)).one()
        return found
