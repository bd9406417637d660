"""What a founder types about their organisation, checked field by field (message ids).

Register entries follow the German registers: Handelsregister A and B (§ 8 HGB), Vereinsregister
(§ 55 BGB), Partnerschaftsregister and Genossenschaftsregister; the number is the court's
running number, sometimes with a letter suffix (e.g. "HRB 12345 B").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from servicekonto.accounts.validation import FieldErrors, clean_text, validate_address
from servicekonto.organisations.models import OrganisationKind

REGISTER_TYPES = ("HRA", "HRB", "VR", "PR", "GnR")
_REGISTER_NUMBER = re.compile(r"^[1-9][0-9]{0,5}(?: ?[A-Z]{1,2})?$")
_COURT = re.compile(r"^[A-Za-zÄÖÜäöüß][A-Za-zÄÖÜäöüß .()/-]{2,99}$")
_TAX_NUMBER = re.compile(r"^[0-9][0-9 /]{8,15}[0-9]$")
# Which registers each kind of organisation is entered in, and whether it must be.
_REGISTERS_FOR_KIND = {
    OrganisationKind.COMPANY: ({"HRA", "HRB", "PR", "GnR"}, True),
    OrganisationKind.ASSOCIATION: ({"VR"}, True),
    OrganisationKind.SOLE_TRADER: ({"HRA"}, False),  # an eingetragener Kaufmann is in HRA
    OrganisationKind.OTHER: (set(REGISTER_TYPES), False),
}


@dataclass(frozen=True)
class OrganisationData:
    kind: OrganisationKind
    name: str
    legal_form: str
    street: str
    house_number: str
    postal_code: str
    city: str
    register_court: str | None
    register_type: str | None
    register_number: str | None
    trade_registration: str | None
    tax_number: str | None


def validate_organisation(form: Mapping[str, str]) -> tuple[OrganisationData | None, FieldErrors]:
    errors: FieldErrors = {}
    kind = form.get("kind", "")
    if kind not in {k.value for k in OrganisationKind}:
        errors["kind"] = "organisation.kind_missing"
    name, legal_form = _text(form, "name", 200, errors), _text(form, "legal_form", 100, errors)
    address, address_errors = validate_address(form)
    errors.update(address_errors)
    register = _register(form, OrganisationKind(kind) if "kind" not in errors else None, errors)
    trade = _optional(form, "trade_registration", 100, errors)
    tax = _tax_number(form, errors)
    if errors:
        return None, errors
    data = OrganisationData(
        kind=OrganisationKind(kind),
        name=name,
        legal_form=legal_form,
        street=address["street"],
        house_number=address["house_number"],
        postal_code=address["postal_code"],
        city=address["city"],
        register_court=register["register_court"],
        register_type=register["register_type"],
        register_number=register["register_number"],
        trade_registration=trade,
        tax_number=tax,
    )
    return data, {}


def _text(form: Mapping[str, str], field: str, limit: int, errors: FieldErrors) -> str:
    value, problem = clean_text(form.get(field, ""), limit)
    if problem or len(value) < 2:
        errors[field] = problem or "field.required"
    return value


def _optional(form: Mapping[str, str], field: str, limit: int, errors: FieldErrors) -> str | None:
    value, problem = clean_text(form.get(field, ""), limit)
    if problem:
        errors[field] = problem
    return value or None


def _register(
    form: Mapping[str, str], kind: OrganisationKind | None, errors: FieldErrors
) -> dict[str, str | None]:
    register_type = form.get("register_type", "").strip() or None
    number, _ = clean_text(form.get("register_number", ""), 20)
    court, _ = clean_text(form.get("register_court", ""), 100)
    allowed, required = _REGISTERS_FOR_KIND[kind] if kind else (set(REGISTER_TYPES), False)
    if register_type is None and not number and not court:
        if required:
            errors["register_type"] = "organisation.register_required"
        return {"register_court": None, "register_type": None, "register_number": None}
    if register_type not in allowed:
        errors["register_type"] = "organisation.register_type_invalid"
    if not _REGISTER_NUMBER.fullmatch(number.upper()):
        errors["register_number"] = "organisation.register_number_invalid"
    if not _COURT.fullmatch(court):
        errors["register_court"] = "organisation.register_court_invalid"
    return {
        "register_court": court,
        "register_type": register_type,
        "register_number": number.upper(),
    }


def _tax_number(form: Mapping[str, str], errors: FieldErrors) -> str | None:
    value, problem = clean_text(form.get("tax_number", ""), 30)
    if value and (problem or not _TAX_NUMBER.fullmatch(value)):
        errors["tax_number"] = "organisation.tax_number_invalid"
    return value or None
