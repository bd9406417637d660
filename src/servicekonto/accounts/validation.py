"""Checks on what people type, returning stable message ids per field instead of raising.

Every text field is checked for what would break storage or display: invalid UTF-8 (the form
decoder turns it into U+FFFD), control characters (PostgreSQL refuses NUL), overlong values, and
markup characters in names, so nothing reaches the database that a later page could misrender.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from servicekonto.accounts.models import EMAIL_MAX_LENGTH

NAME_MAX_LENGTH = 100
ACADEMIC_TITLES = ("", "Dr.", "Prof.", "Prof. Dr.", "Dr. Dr.")
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

# Letters and combining marks of any script, spaces, hyphens, apostrophes and dots: enough for
# "Müller-Lüdenscheidt", "von der Heydt", "O'Connor", "St. Aldegund"; not enough for markup.
_APOSTROPHES = "'\u2019"  # typewriter and typographic apostrophe
_NAME_PUNCTUATION = frozenset(" -." + _APOSTROPHES)
_STREET_PUNCTUATION = frozenset(" -./0123456789" + _APOSTROPHES)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_POSTAL_CODE = re.compile(r"^\d{5}$")
_HOUSE_NUMBER = re.compile(r"^\d{1,4} ?[a-zA-Z]?( ?[-/] ?\d{1,4} ?[a-zA-Z]?)?$")

FieldErrors = dict[str, str]


def clean_text(value: str, max_length: int) -> tuple[str, str | None]:
    """NFC-normalised, trimmed, inner whitespace collapsed; or the id of what is wrong."""
    if "\ufffd" in value:
        return value, "field.invalid_encoding"
    if any(unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co"} for char in value):
        return value, "field.invalid_characters"
    cleaned = " ".join(unicodedata.normalize("NFC", value).split())
    if len(cleaned) > max_length:
        return cleaned, "field.too_long"
    return cleaned, None


def _only(allowed_punctuation: frozenset[str]) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        return all(
            char in allowed_punctuation or unicodedata.category(char)[0] in {"L", "M"}
            for char in text
        )

    return check


_is_name = _only(_NAME_PUNCTUATION)
_is_street = _only(_STREET_PUNCTUATION)


def clean_email(value: str) -> tuple[str, str | None]:
    cleaned, problem = clean_text(value, EMAIL_MAX_LENGTH)
    if problem:
        return cleaned, problem
    cleaned = cleaned.lower()
    if not cleaned:
        return cleaned, "field.required"
    if not _EMAIL.match(cleaned):
        return cleaned, "email.invalid"
    return cleaned, None


def _name(value: str, required: bool = True) -> tuple[str, str | None]:
    cleaned, problem = clean_text(value, NAME_MAX_LENGTH)
    if problem:
        return cleaned, problem
    if not cleaned:
        return cleaned, "field.required" if required else None
    if not _is_name(cleaned) or not any(char.isalpha() for char in cleaned):
        return cleaned, "name.invalid_characters"
    return cleaned, None


def parse_birth_date(value: str, today: date) -> tuple[date | None, str | None]:
    """ISO (from a date input) or German notation (typed: 17.05.1980)."""
    text = value.strip()
    if not text:
        return None, "field.required"
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            parsed = datetime.strptime(text, pattern).date()
        except ValueError:
            continue
        if parsed > today:
            return None, "birth_date.in_future"
        if parsed < EARLIEST_BIRTH_DATE:
            return None, "birth_date.too_early"
        return parsed, None
    return None, "birth_date.invalid"


@dataclass(frozen=True)
class PersonalData:
    academic_title: str | None
    given_names: str
    family_name: str
    birth_name: str | None
    birth_date: date
    birth_place: str
    street: str
    house_number: str
    postal_code: str
    city: str


def validate_personal_data(
    form: Mapping[str, str], today: date
) -> tuple[PersonalData | None, FieldErrors]:
    errors: FieldErrors = {}
    values: dict[str, str] = {}

    def take(field: str, result: tuple[str, str | None]) -> None:
        values[field], problem = result
        if problem:
            errors[field] = problem

    title = form.get("academic_title", "")
    if title not in ACADEMIC_TITLES:
        errors["academic_title"] = "academic_title.invalid"
    take("given_names", _name(form.get("given_names", "")))
    take("family_name", _name(form.get("family_name", "")))
    take("birth_name", _name(form.get("birth_name", ""), required=False))
    take("birth_place", _name(form.get("birth_place", "")))
    address, address_errors = validate_address(form)
    values.update(address)
    errors.update(address_errors)
    birth_date, problem = parse_birth_date(form.get("birth_date", ""), today)
    if problem:
        errors["birth_date"] = problem
    if errors or birth_date is None:
        return None, errors
    return (
        PersonalData(
            academic_title=title or None,
            given_names=values["given_names"],
            family_name=values["family_name"],
            birth_name=values["birth_name"] or None,
            birth_date=birth_date,
            birth_place=values["birth_place"],
            street=values["street"],
            house_number=values["house_number"],
            postal_code=values["postal_code"],
            city=values["city"],
        ),
        {},
    )


def validate_address(form: Mapping[str, str]) -> tuple[dict[str, str], FieldErrors]:
    """Street, house number, postal code and city of a German address: values and problems."""
    checks = {
        "street": _street(form.get("street", "")),
        "house_number": _pattern(form.get("house_number", ""), _HOUSE_NUMBER, "house_number"),
        "postal_code": _pattern(form.get("postal_code", ""), _POSTAL_CODE, "postal_code"),
        "city": _name(form.get("city", "")),
    }
    values = {field: value for field, (value, _) in checks.items()}
    errors = {field: problem for field, (_, problem) in checks.items() if problem}
    return values, errors


def _street(value: str) -> tuple[str, str | None]:
    cleaned, problem = clean_text(value, NAME_MAX_LENGTH)
    if problem:
        return cleaned, problem
    if not cleaned:
        return cleaned, "field.required"
    if not _is_street(cleaned) or not any(char.isalpha() for char in cleaned):
        return cleaned, "street.invalid_characters"
    return cleaned, None


def _pattern(value: str, pattern: re.Pattern[str], field: str) -> tuple[str, str | None]:
    cleaned, problem = clean_text(value, 20)
    if problem:
        return cleaned, problem
    if not cleaned:
        return cleaned, "field.required"
    if not pattern.match(cleaned):
        return cleaned, f"{field}.invalid"
    return cleaned, None
