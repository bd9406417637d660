"""User-facing text by stable message id, from Babel message catalogues.

Every text a person reads has a stable id (`login.failed`) whose wording lives in
`locales/<lang>/LC_MESSAGES/messages.po` — never inline in code or templates (ory/kratos
`text/`). The .po files are the source; they are compiled in memory when first used, so there is
no build step and no compiled file to keep in sync.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

SUPPORTED_LOCALES = ("de", "en")
DEFAULT_LOCALE = "de"
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}


@cache
def translations(locale: str) -> Translations:
    if locale not in SUPPORTED_LOCALES:
        locale = DEFAULT_LOCALE
    source = resources.files("servicekonto.i18n").joinpath(
        "locales", locale, "LC_MESSAGES", "messages.po"
    )
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


@cache
def message_ids(locale: str) -> frozenset[str]:
    source = resources.files("servicekonto.i18n").joinpath(
        "locales", locale, "LC_MESSAGES", "messages.po"
    )
    with source.open("rb") as handle:
        return frozenset(str(message.id) for message in read_po(handle) if message.id)


class Translator:
    """Looks up message ids in one language; parameters are filled with str.format."""

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE
        self._translations = translations(self.locale)

    def __call__(self, message_id: str, **params: Any) -> str:
        text = self._translations.gettext(message_id)
        return text.format(**params) if params else text


def negotiate_locale(explicit: str | None, accept_language: str | None) -> str:
    """An explicit choice (the language switch) wins, then the browser's Accept-Language."""
    if explicit in SUPPORTED_LOCALES:
        return explicit
    for language in _preferred_languages(accept_language or ""):
        if language in SUPPORTED_LOCALES:
            return language
    return DEFAULT_LOCALE


def _preferred_languages(header: str) -> list[str]:
    """Primary language tags of an Accept-Language header, best first (RFC 9110 §12.5.4)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, parameters = part.strip().partition(";")
        quality = _quality(parameters)
        if tag and quality > 0:
            weighted.append((-quality, position, tag.split("-")[0].strip().lower()))
    return [language for _, _, language in sorted(weighted)]


def _quality(parameters: str) -> float:
    name, _, value = parameters.strip().partition("=")
    if name.strip() != "q":
        return 1.0
    try:
        return max(0.0, min(1.0, float(value)))
    except ValueError:
        return 0.0
