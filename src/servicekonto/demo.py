"""Demo data: the district of Cochem-Zell and its four municipal associations.

`servicekonto demo` runs this; it is idempotent (a second run creates nothing and reports the
same entities). Later capabilities add their demo accounts, clients and documents here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from servicekonto.authorities.models import AuthorityKind
from servicekonto.authorities.schemas import AuthorityOut, AuthoritySpec
from servicekonto.authorities.service import AuthorityService
from servicekonto.clock import Clock
from servicekonto.config import Settings
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


@dataclass
class DemoReport:
    issuer: str
    authorities: list[AuthorityOut] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)

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
        }


def seed_demo(settings: Settings, database: Database, clock: Clock) -> DemoReport:
    report = DemoReport(issuer=settings.issuer)
    service = AuthorityService(database, clock)
    created = 0
    for spec in DEMO_AUTHORITIES:
        ensured = service.ensure(spec, actor=DEMO_ACTOR)
        report.authorities.append(ensured.authority)
        created += ensured.created
    report.created["authorities"] = created
    return report


def render_text(report: DemoReport) -> str:
    lines = [
        "Demo data is ready.",
        "",
        f"Authorities ({report.created.get('authorities', 0)} new):",
        *(f"  {authority.slug:<18} {authority.name}" for authority in report.authorities),
        "",
        "Try it:",
        *(f"  {name:<10} {url}" for name, url in report.urls().items()),
    ]
    return "\n".join(lines)
