"""Does what a person typed describe this resident? The rules of the automatic registry match.

A match leads to a PIN letter and so to *Personenbindung*: a false match binds the wrong person,
a missed match only leaves the account at the basic level. Every rule therefore forgives the
ways one spelling of the same fact differs from another (case, umlaut transcription, "Str.",
"12 a"), and nothing that could be a different fact:

- Text is folded first (`fold`): NFC, casefold (ß → ss), ä/ö/ü → ae/oe/ue, other diacritics
  dropped (é → e). "Muller" does not match "Müller": German spelling says ü is ue.
- Family and birth names: the folded letters and digits in order; spaces, hyphens, apostrophes
  and dots do not count, so "Müller-Lüdenscheidt" == "Müller Lüdenscheidt" and
  "von der Heydt" == "Von der Heydt". Nobility particles stay part of the name: "Heydt" alone
  does not match "von der Heydt".
- Academic titles: the registry keeps the doctorate in its own field and a person types none
  (the query has no field for it), but people do type "Dr. Anna" or "Dr. Schmidt". A leading
  doctorate or professorship ("Dr.", "Prof. Dr.", "Dr. med.", "Dr.-Ing.", "Dr. h. c.") is
  dropped from given and family names before comparing; the title field is never compared. A
  title says nothing about identity, and no German given or family name is "Dr".
- Given names: the first given name must agree, and one list must be an order-preserving
  subset of the other ("Anna" matches "Anna Maria Luise"; "Maria" does not match "Anna Maria").
  Twins differing only in a middle name then come out ambiguous, and ambiguous binds no one.
- Birth name: compared only if typed, against the registered birth name, or the family name
  when none is registered.
- Birth date and postal code (five digits) exactly; house number without spaces and case
  ("12 A" == "12a", "12 - 14" == "12-14", but "12" != "12a": a letter is another door).
- Street: "Str.", "Strasse", "Straße", "-Straße" and " Straße" are one suffix; word separators
  do not count. City: the folded words in order ("Zell (Mosel)" == "Zell/Mosel" == "Zell Mosel",
  but "Zell" != "Zell (Mosel)"). In both, a standalone "St." is "Sankt".
"""

from __future__ import annotations

import re
import unicodedata

from servicekonto.registry.port import Address, RegistryQuery, ResidentRecord

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
# Letters that NFD does not split into base letter and accent, so stripping marks misses them.
_UNDECOMPOSABLE = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "\N{LATIN SMALL LETTER DOTLESS I}": "i",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
    }
)
# Apostrophes join ("D'Angelo" == "DAngelo") rather than separate words.
_APOSTROPHES = str.maketrans(
    dict.fromkeys(
        "'`\N{RIGHT SINGLE QUOTATION MARK}\N{LEFT SINGLE QUOTATION MARK}"
        "\N{MODIFIER LETTER APOSTROPHE}\N{ACUTE ACCENT}",
        "",
    )
)
_SEPARATORS = re.compile(r"[\W_]+")
_DASHES = re.compile(r"[‐‑‒–—―−]")  # noqa: RUF001 - the look-alike dashes are the point
_WHITESPACE = re.compile(r"\s+")
# A leading doctorate or professorship, on folded text. The word boundary after "dr"/"prof"
# keeps "Drago" and "Profittlich" whole; faculty qualifiers need their dot ("Dr. Nat" is a name).
_QUALIFIER = r"(?:med|dent|vet|rer|nat|pol|phil|jur|iur|oec|theol|ing|habil|h\.\s*c|mult|sc)\."
_LEADING_TITLES = re.compile(rf"^(?:\s*(?:prof|dr)(?:\.|\b)(?:\s*-?\s*{_QUALIFIER})*[\s,]*)+")
_POSTAL_CODE = re.compile(r"[0-9]{5}")


def fold(text: str) -> str:
    """Case, umlaut transcription and accents made irrelevant: "MÜLLER" → "mueller", é → e."""
    text = unicodedata.normalize("NFC", text).casefold().translate(_UMLAUTS)
    decomposed = unicodedata.normalize("NFD", text)
    unmarked = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unmarked.translate(_UNDECOMPOSABLE)


def strip_academic_titles(folded: str) -> str:
    """Folded text without leading titles: "prof. dr. anna" → "anna"."""
    return _LEADING_TITLES.sub("", folded)


def words(folded: str) -> tuple[str, ...]:
    """The words of folded text; any run of non-letters, non-digits separates them."""
    return tuple(word for word in _SEPARATORS.split(folded.translate(_APOSTROPHES)) if word)


def name_key(name: str) -> str:
    """A family or birth name for comparison: folded letters and digits, titles dropped."""
    return "".join(words(strip_academic_titles(fold(name))))


def given_name_words(given_names: str) -> tuple[str, ...]:
    """Given names as folded words: "Dr. Hans-Peter" → ("hans", "peter")."""
    return words(strip_academic_titles(fold(given_names)))


def is_subsequence(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """Every word of `short` occurs in `long`, in the same order (gaps allowed)."""
    remaining = iter(long)
    return all(word in remaining for word in short)


def given_names_agree(typed: str, registered: str) -> bool:
    """Same first given name, and one list an order-preserving subset of the other."""
    typed_words, registered_words = given_name_words(typed), given_name_words(registered)
    if not typed_words or not registered_words or typed_words[0] != registered_words[0]:
        return False
    return is_subsequence(typed_words, registered_words) or is_subsequence(
        registered_words, typed_words
    )


def names_agree(typed: str, registered: str) -> bool:
    typed_key = name_key(typed)
    return bool(typed_key) and typed_key == name_key(registered)


def birth_names_agree(typed: str | None, resident: ResidentRecord) -> bool:
    """A typed birth name must be the registered one (the family name if none is registered)."""
    if typed is None or not name_key(typed):
        return True  # not typed: nothing to contradict
    return names_agree(typed, resident.birth_name or resident.family_name)


def _place_word(word: str) -> str:
    return "sankt" if word == "st" else word


def _street_word(word: str) -> str:
    """Spell the street suffix out: "hauptstr" → "hauptstrasse"; "st" → "sankt"."""
    if word.endswith("str"):
        return word + "asse"
    return _place_word(word)


def street_key(street: str) -> str:
    """A street for comparison: "Haupt-Str." and "Hauptstraße" both give "hauptstrasse"."""
    return "".join(_street_word(word) for word in words(fold(street)))


def house_number_key(house_number: str) -> str:
    """A house number without spaces and case, with one kind of dash: "12 - 14 A" → "12-14a"."""
    return _WHITESPACE.sub("", _DASHES.sub("-", fold(house_number)))


def city_key(city: str) -> str:
    """A city for comparison: "Zell (Mosel)" and "Zell/Mosel" both give "zell mosel"."""
    return " ".join(_place_word(word) for word in words(fold(city)))


def postal_codes_agree(typed: str, registered: str) -> bool:
    typed = typed.strip()
    return _POSTAL_CODE.fullmatch(typed) is not None and typed == registered.strip()


def addresses_agree(typed: Address, registered: Address) -> bool:
    """Postal code, city, street and house number all agree (empty never agrees)."""
    pairs = (
        (street_key(typed.street), street_key(registered.street)),
        (house_number_key(typed.house_number), house_number_key(registered.house_number)),
        (city_key(typed.city), city_key(registered.city)),
    )
    return postal_codes_agree(typed.postal_code, registered.postal_code) and all(
        bool(mine) and mine == theirs for mine, theirs in pairs
    )


def is_match(query: RegistryQuery, resident: ResidentRecord) -> bool:
    """Whether the query describes this resident; the caller decides what several matches mean."""
    return (
        query.birth_date == resident.birth_date
        and addresses_agree(query.address, resident.address)
        and names_agree(query.family_name, resident.family_name)
        and given_names_agree(query.given_names, resident.given_names)
        and birth_names_agree(query.birth_name, resident)
    )
