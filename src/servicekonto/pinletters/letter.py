"""What a PIN letter says, and the rule that turns names into something the post can read.

`LetterContent` is the finished, plain content of one letter: the address comes from the
population registry (DESIGN.md, lifecycle step 2), never from what the user typed.

Latin script for the post: the address must be readable by the German post's sorting machines
and by the carrier, and the embedded fonts cover Latin only. `postal_latin` therefore maps each
character in this order:

1. a Latin letter, digit, punctuation or space the font can show stays as it is (``ü``, ``ß``);
2. a Latin letter with a diacritic the font lacks loses the diacritic (``ő`` → ``o``,
   ``ș`` → ``s``: Unicode NFKD decomposition, combining marks dropped), and a few letters that
   do not decompose use a fixed base letter (``ħ`` → ``h``);
3. Cyrillic and Greek are transliterated letter by letter (Cyrillic after the table in
   ICAO Doc 9303 part 3, the one for machine-readable passports: ``Жанна`` → ``Zhanna``;
   Greek after ELOT 743 without its context rules);
4. anything else (Chinese, Arabic, ...) cannot be spelt out without a dictionary and becomes
   ``?`` — visibly, never silently dropped. `unprintable` reports such characters so the
   caller can hold the letter back for manual address handling.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

PLACEHOLDER = "?"

# Cyrillic → Latin, ICAO Doc 9303 part 3, section 6 (lower case; upper case is derived).
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "ђ": "d", "е": "e", "ё": "e",  # noqa: RUF001
    "є": "ie", "ж": "zh", "з": "z", "ѕ": "dz", "и": "i", "і": "i", "ї": "i", "й": "i",  # noqa: RUF001
    "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o",  # noqa: RUF001
    "п": "p", "р": "r", "с": "s", "т": "t", "ћ": "c", "у": "u", "ў": "u", "ф": "f",  # noqa: RUF001
    "х": "kh", "ц": "ts", "ч": "ch", "џ": "dz", "ш": "sh", "щ": "shch", "ъ": "ie",  # noqa: RUF001
    "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip
# Greek → Latin, ELOT 743 without the digraph context rules (lower case).
_GREEK = {
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th",  # noqa: RUF001
    "ι": "i", "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p",  # noqa: RUF001
    "ρ": "r", "σ": "s", "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps",  # noqa: RUF001
    "ω": "o",
}  # fmt: skip
# Latin letters without a Unicode decomposition to a base letter.
_LATIN_BASE = {
    "ħ": "h", "ı": "i", "ŀ": "l", "ł": "l", "đ": "d", "ŋ": "n", "ŧ": "t", "ƀ": "b",  # noqa: RUF001
    "ɨ": "i", "ø": "o", "ʉ": "u", "ß": "ss",
}  # fmt: skip
_TRANSLITERATION = {**_CYRILLIC, **_GREEK, **_LATIN_BASE}

HasGlyph = Callable[[str], bool]

# The letter's wording by stable message id (STYLE.md habit 12), filled with str.format like
# `servicekonto.i18n.Translator`. The letter goes to German addresses and is German only; the
# ids are ready to move into the "de" message catalogue.
LETTER_TEXT = {
    "pin_letter.subject": "Ihr PIN für das ServiceKonto",
    "pin_letter.intro": (
        "mit diesem Brief erhalten Sie den PIN für Ihr ServiceKonto. Wir schicken ihn an die "
        "Adresse, unter der Sie gemeldet sind. Mit dem PIN bestätigen Sie, dass das Konto "
        "wirklich Ihnen gehört: Ihr Konto wird dann mit Ihrer Meldeadresse verbunden. Danach "
        "können Sie auch Anträge online stellen, bei denen die Verwaltung wissen muss, wer "
        "Sie sind."
    ),
    "pin_letter.pin_label": "Ihr PIN",
    "pin_letter.valid_until": "gültig bis {date}",
    "pin_letter.steps_title": "So geben Sie den PIN ein",
    "pin_letter.step_login": "1. Melden Sie sich in Ihrem ServiceKonto an.",
    "pin_letter.step_open": (
        "2. Öffnen Sie die Seite {url}. Oder scannen Sie einfach den QR-Code rechts mit der "
        "Kamera Ihres Smartphones."
    ),
    "pin_letter.step_enter": "3. Geben Sie den PIN ein und bestätigen Sie.",
    "pin_letter.expiry": (
        "Der PIN gilt bis zum {date}. Ist er abgelaufen, können Sie in Ihrem ServiceKonto "
        "einen neuen Brief anfordern."
    ),
    "pin_letter.not_requested": (
        "Sie haben kein ServiceKonto eröffnet? Dann geben Sie den PIN bitte nirgends ein und "
        "melden Sie sich bei uns: {sender_name}, {sender_address}. Nennen Sie dabei die "
        "Briefnummer {letter_number}. Ohne den PIN kann niemand ein Konto mit Ihrer Adresse "
        "verbinden. Wir fragen Sie nie am Telefon oder per E-Mail nach dem PIN."
    ),
    "pin_letter.closing": "Mit freundlichen Grüßen",
    "pin_letter.no_signature": (
        "Dieser Brief wurde maschinell erstellt und ist ohne Unterschrift gültig."
    ),
    "pin_letter.info.letter_number": "Briefnummer",
    "pin_letter.info.date": "Datum",
    "pin_letter.info.valid_until": "PIN gültig bis",
}


def letter_text(message_id: str, **params: str) -> str:
    text = LETTER_TEXT[message_id]
    return text.format(**params) if params else text


@dataclass(frozen=True)
class LetterContent:
    """The content of one PIN letter, as plain data."""

    letter_number: str
    recipient_lines: tuple[str, ...]
    street_line: str
    city_line: str
    pin: str
    pin_entry_url: str
    issued_on: date
    valid_until: date
    sender_name: str
    sender_address: str
    salutation: str

    def __post_init__(self) -> None:
        if not self.recipient_lines or not all(line.strip() for line in self.recipient_lines):
            raise ValueError("a letter needs at least one non-empty recipient line")
        if not compact_pin(self.pin):
            raise ValueError("a letter needs a PIN")
        if self.valid_until < self.issued_on:
            raise ValueError("valid_until lies before issued_on")

    def address_lines(self) -> tuple[str, ...]:
        """Recipient, street, city: the lines that go into the window."""
        return (*self.recipient_lines, self.street_line, self.city_line)

    def return_address(self) -> str:
        """The Rücksendeangabe: one line, parts separated by middle dots."""
        parts = [self.sender_name, *(p.strip() for p in self.sender_address.split(","))]
        return " · ".join(p for p in parts if p)


def compact_pin(pin: str) -> str:
    """The PIN without the spaces and hyphens people or printers put in."""
    return "".join(ch for ch in pin if ch not in " -").upper()


def grouped_pin(pin: str, size: int = 4) -> str:
    """``ABCDEFGHK3`` → ``ABCD EFGH K3``: short groups are easier to copy without a slip."""
    compact = compact_pin(pin)
    return " ".join(compact[i : i + size] for i in range(0, len(compact), size))


def german_date(day: date) -> str:
    """``21.12.2026``: the numeric form most readers in Germany expect in running text."""
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def postal_latin(text: str, has_glyph: HasGlyph) -> str:
    """`text` in Latin script and in characters the font can show (rules in the module doc)."""
    out: list[str] = []
    for index, char in enumerate(text):
        replacement = _latin_char(char, has_glyph)
        if replacement is None:
            replacement = _transliterate(char, text[index + 1 : index + 2], has_glyph)
        out.append(replacement)
    return "".join(out)


def unprintable(text: str, has_glyph: HasGlyph) -> str:
    """The characters of `text` that `postal_latin` can only show as a placeholder."""
    return "".join(
        sorted({ch for ch in text if _latin_char(ch, has_glyph) is None and not _known(ch)})
    )


def _is_latin_or_neutral(char: str) -> bool:
    if char.isascii() or not char.isalpha():
        return True
    return unicodedata.name(char, "").startswith("LATIN ")


def _latin_char(char: str, has_glyph: HasGlyph) -> str | None:
    """The character itself, or its base letter; None if neither works."""
    if _is_latin_or_neutral(char) and has_glyph(char):
        return char
    if not _is_latin_or_neutral(char):
        return None
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if base and base != char and all(has_glyph(c) for c in base):
        return base
    return None


def _table_entry(char: str) -> str | None:
    """Transliteration of `char` (lower case), trying it with its accents stripped too."""
    lower = char.lower()
    if lower in _TRANSLITERATION:  # before decomposing: "й" must not become "и"
        return _TRANSLITERATION[lower]
    base = "".join(c for c in unicodedata.normalize("NFKD", lower) if not unicodedata.combining(c))
    return _TRANSLITERATION.get(base)


def _known(char: str) -> bool:
    return _table_entry(char) is not None


def _transliterate(char: str, following: str, has_glyph: HasGlyph) -> str:
    latin = _table_entry(char)
    if latin is None or not all(has_glyph(c) for c in latin):
        return PLACEHOLDER
    if char.islower() or not latin:
        return latin
    # Upper case: "Ж" + "анна" → "Zhanna", but "ЖАННА" → "ZHANNA".
    return latin.upper() if following.isupper() else latin.capitalize()
