"""Message catalogues: German and English complete, every id in use defined, language choice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from servicekonto.accounts.password_policy import PasswordProblem
from servicekonto.i18n.catalog import Translator, message_ids, negotiate_locale
from servicekonto.organisations.models import MemberRole, OrganisationKind, VerificationState
from servicekonto.safe.models import CaseStatus, Category

SOURCE = Path(__file__).resolve().parents[1] / "src" / "servicekonto"
_TEMPLATE_IDS = re.compile(r"""_\(\s*["']([a-z_0-9]+\.[a-z_0-9.]+)["']""")
_MACRO_IDS = re.compile(
    r"""m\.(?:input|password|select)\("[a-z_]+",\s*"([a-z_.]+)".*?(?:hint="([a-z_.]+)")?"""
)
_QUOTED_ID = re.compile(r'"([a-z_]+\.[a-z_]+)"')


def _catalog(locale: str) -> dict[str, str]:
    path = SOURCE / "i18n" / "locales" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def _ids_in_templates() -> set[str]:
    found: set[str] = set()
    for template in (SOURCE / "web" / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        found |= set(_TEMPLATE_IDS.findall(text))
        for label, hint in _MACRO_IDS.findall(text):
            found |= {label, hint} - {""}
        found |= set(re.findall(r'hint="([a-z_.]+)"', text))
    return {message_id for message_id in found if not message_id.endswith(".")}


def _ids_in_code() -> set[str]:
    files = [
        SOURCE / "accounts" / "validation.py",
        SOURCE / "accounts" / "passkeys.py",
        SOURCE / "accounts" / "totp.py",
        *(SOURCE / "web" / "pages").glob("*.py"),
        SOURCE / "web" / "errors.py",
    ]
    found = {m for path in files for m in _QUOTED_ID.findall(path.read_text(encoding="utf-8"))}
    found = {m for m in found if not m.endswith((".html", ".py"))}
    found |= {problem.value for problem in PasswordProblem}
    found |= {f"{field}.invalid" for field in ("house_number", "postal_code")}
    found |= {f"trust.{kind}.{level}" for kind in ("level", "explain") for level in range(1, 5)}
    found |= {f"trust.raise.{level}" for level in range(1, 4)}
    pages = "".join(p.read_text() for p in (SOURCE / "web" / "pages").glob("*.py"))
    for page in ("account", "safe", "favourites", "organisations"):
        updated = re.findall(rf"/{page}\?updated=(\w+)", pages)
        found |= {f"{page}.updated.{name}" for name in updated}
    found |= {f"safe.category.{category}" for category in Category}
    found |= {f"cases.status.{status}" for status in CaseStatus}
    found |= {f"organisation.state.{state}" for state in VerificationState}
    found |= {f"organisation.kind.{kind}" for kind in OrganisationKind}
    found |= {f"members.role.{role}" for role in MemberRole}
    found |= {f"office.decision.{decision}" for decision in ("verified", "needs_info", "rejected")}
    return found


def test_german_and_english_define_the_same_ids_and_none_is_empty() -> None:
    german, english = _catalog("de"), _catalog("en")
    assert set(german) == set(english)
    assert [key for key, text in {**german, **english}.items() if not text.strip()] == []


def test_every_id_used_by_the_pages_is_defined() -> None:
    used = _ids_in_templates() | _ids_in_code()
    assert len(used) > 100
    assert sorted(used - message_ids("de")) == []


def test_placeholders_match_between_languages() -> None:
    german, english = _catalog("de"), _catalog("en")
    for key in german:
        assert set(re.findall(r"{(\w+)}", german[key])) == set(
            re.findall(r"{(\w+)}", english[key])
        ), key


def test_translator_fills_parameters_and_falls_back_to_german() -> None:
    assert Translator("en")("login.throttled", wait=5).startswith("Too many attempts")
    assert "5" in Translator("de")("login.throttled", wait=5)
    assert Translator("fr").locale == "de"


@pytest.mark.parametrize(
    ("explicit", "header", "expected"),
    [
        (None, None, "de"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "fr-FR,fr;q=0.9,en;q=0.8,de;q=0.7", "en"),
        (None, "de;q=0.5,en;q=0.9", "en"),
        (None, "en;q=0,de", "de"),
        (None, "en;q=abc", "de"),
        ("de", "en", "de"),
        ("en", "de", "en"),
        ("xx", "en", "en"),
        (None, "*", "de"),
        (None, "," * 500, "de"),
    ],
)
def test_language_negotiation(explicit: str | None, header: str | None, expected: str) -> None:
    assert negotiate_locale(explicit, header) == expected
