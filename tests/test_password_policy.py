"""The password policy after NIST SP 800-63B §5.1.1.2."""

from __future__ import annotations

import secrets
import string
import time
from importlib import resources

import pytest

from servicekonto.accounts.password_policy import (
    GERMAN_LIST,
    MAX_LENGTH,
    MIN_LENGTH,
    PasswordProblem,
    check_password,
    common_passwords,
    german_passwords,
)

SHORT = PasswordProblem.TOO_SHORT
LONG = PasswordProblem.TOO_LONG
COMMON = PasswordProblem.COMMON
PERSONAL = PasswordProblem.PERSONAL
REPETITIVE = PasswordProblem.REPETITIVE

# What registration knows about a made-up person.
CONTEXT = ("anna.schmidt84", "Anna Maria", "Schmidt", "1984")


def fullwidth(ascii_text: str) -> str:
    """The text in Unicode's full-width forms (U+FF01..U+FF5E), as East Asian keyboards type it."""
    return "".join(chr(ord(char) + 0xFEE0) for char in ascii_text)


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        # length in code points after NFKC
        ("Mbq7-Uzv9", [SHORT]),
        ("Mbq7-Uzv9k", []),
        ("Mbq7-Uzv9k" * 12 + "Mbq7-Uzv9", [LONG]),
        ("Mbq7-Uzv9k" * 12 + "Mbq7-Uzv", []),
        ("Grüße €9.", [SHORT]),  # 9 characters, though 12 bytes in UTF-8
        (fullwidth("sehr-wild"), [SHORT]),  # full-width letters count once each
        # commonly used: listed, also with a suffix of digits or punctuation
        ("password123", [COMMON, REPETITIVE]),
        ("Passwort!", [SHORT, COMMON]),
        ("hallo12345", [COMMON]),
        ("Passwort2024!", [COMMON]),
        ("SOMMER-2024", [COMMON]),
        ("schalke04!!", [COMMON]),
        ("Fußball1904", [COMMON]),
        ("ich liebe dich", [COMMON]),
        (fullwidth("PASSWORT12"), [COMMON]),
        ("01.05.1987", [COMMON]),
        ("1987-05-01", [COMMON, REPETITIVE]),
        # repetitive, sequential, keyboard walks
        ("qwertzuiop", [COMMON, REPETITIVE]),
        ("1234567890", [COMMON, REPETITIVE]),
        ("aaaaaaaaaaaa", [REPETITIVE]),
        ("abcdefghij", [REPETITIVE]),
        ("9876543210zyx", [REPETITIVE]),
        ("yxcvbnm,.-", [COMMON, REPETITIVE]),
        ("!@#$%^&*()", [REPETITIVE]),
        ("asdfghjklöä", [REPETITIVE]),
        ("121212121212", [REPETITIVE]),
        ("Wolke7Wolke7", [REPETITIVE]),
        # accepted: passphrases, random strings, any script, emoji
        ("Moselwein im Herbst", []),
        ("korrekt-Pferd-Batterie-Heftklammer", []),
        ("vT7#qLm2@xPz", []),
        ("Grüße aus Cochem an der Mosel", []),
        ("Sommer, Sonne, Strand und Eis!", []),
        ("Der Hund bellt um 7 Uhr 🐕", []),
        ("🍇🍷🌄🚲🏰☀️🐟🌧️🧀🥨", []),
        ("Жёлтый трамвай", []),
    ],
)
def test_policy_table(password: str, problems: list[PasswordProblem]) -> None:
    assert check_password(password) == problems


def test_the_length_limits_are_nist_compliant() -> None:
    assert MIN_LENGTH == 10
    assert MAX_LENGTH >= 64  # NIST SP 800-63B §5.1.1.2


def test_no_composition_rules() -> None:
    # Only lowercase letters, no digits or symbols: fine when long and not guessable.
    assert check_password("wiesenkerbel") == []
    assert check_password("9318275046") == []


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("anna.schmidt84", [PERSONAL]),  # the e-mail local part
        ("Anna Maria", [PERSONAL]),
        ("AnnaMaria1984", [PERSONAL]),  # given names + birth year
        ("Anna1984!!", [COMMON, PERSONAL]),
        ("Schmidt-Katze", [PERSONAL]),
        ("servicekonto1", [PERSONAL]),
        ("Service Konto 2024", [PERSONAL]),
        ("mein-servicekonto", [PERSONAL]),
        # a personal word inside a long passphrase is not most of it
        ("Anna wandert gern an der Mosel", []),
        ("Mein Konto beim Kreis Cochem-Zell", []),
        ("Schmidtchen Schleicher 8!", []),
    ],
)
def test_personal_words_making_up_most_of_the_password(
    password: str, problems: list[PasswordProblem]
) -> None:
    assert check_password(password, CONTEXT) == problems


def test_a_full_email_address_counts_by_its_local_part() -> None:
    assert check_password("hildegard.lang", ["hildegard.lang@example.org"]) == [PERSONAL]
    assert check_password("Example Org", ["hildegard.lang@example.org"]) == []


def test_short_context_words_do_not_count() -> None:
    assert check_password("Jo-Wanderstab", ["Jo"]) == []


def test_personal_words_ignore_case_and_compatibility_forms() -> None:
    assert check_password("STRAUSS1970", ["Strauß", "1970"]) == [PERSONAL]
    assert check_password(fullwidth("SCHMIDT") + "-1984", CONTEXT) == [PERSONAL]


def test_a_random_password_is_accepted() -> None:
    alphabet = string.ascii_letters + string.digits
    password = "".join(secrets.choice(alphabet) for _ in range(16))
    assert check_password(password) == []


def test_the_german_list_is_lowercase_words_without_duplicates() -> None:
    entries = german_passwords()
    assert len(entries) >= 200
    assert all(entry == entry.lower() for entry in entries)
    assert all(entry.isalpha() and len(entry) >= 4 for entry in entries)  # suffix rule adds digits
    assert len(set(entries)) == len(entries)
    text = resources.files("servicekonto.accounts").joinpath("data", GERMAN_LIST)
    assert "passwort" in text.read_text(encoding="utf-8").splitlines()


def test_the_blocklist_joins_zxcvbn_and_the_german_list() -> None:
    blocklist = common_passwords()
    assert {"password", "qwerty", "dragon"} <= blocklist  # zxcvbn's frequency list
    assert {"ichliebedich", "kaisersesch", "gummibärchen"} <= blocklist  # ours
    assert "fussball" in blocklist  # "fußball" case-folded
    assert all(entry == entry.casefold() for entry in blocklist)


def test_the_blocklist_loads_fast_and_once() -> None:
    common_passwords.cache_clear()
    started = time.perf_counter()
    first = common_passwords()
    assert time.perf_counter() - started < 0.1
    assert common_passwords() is first
