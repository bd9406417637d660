"""Which passwords we accept: the rules of NIST SP 800-63B §5.1.1.2 for memorised secrets.

- Length counts Unicode code points after NFKC normalisation: at least `MIN_LENGTH`, at most
  `MAX_LENGTH` (NIST: at least 8, and allow at least 64). Any character may be used: spaces,
  umlauts, emoji.
- No composition rules ("one digit, one capital"): §5.1.1.2 says verifiers SHOULD NOT impose
  them, they make passwords harder to remember and hardly harder to guess.
- Instead the password is compared with what attackers try first (§5.1.1.2, "values known to
  be commonly-used, expected, or compromised"):
  * `COMMON` — a listed password (zxcvbn's frequency list plus our German list), also with its
    spaces removed, with a trailing run of digits and punctuation added ("Sommer2024!") — the
    first mangling rule of every cracking tool — or a bare calendar date ("01.05.1987").
  * `PERSONAL` — context-specific words (e-mail local part, names, birth year, the service's
    name): each such word of at least `PERSONAL_WORD_MIN_LENGTH` characters found in the
    password marks its letters and digits; when more than half of the password's letters and
    digits are marked, the password is mostly guessable from the person. Punctuation and spaces
    do not count, since padding a name with "!!" adds almost nothing to guess.
  * `REPETITIVE` — repetitive or sequential characters: more than half of the letters, digits
    and symbols lie in runs of three or more predictable steps (the same character again, the
    next or previous letter or digit, the neighbouring key on a QWERTZ or QWERTY row), or the
    password repeats a block shorter than `MIN_LENGTH` ("hallohallo").
  Every rule compares whole passwords or most of one, never single words inside a longer text,
  so a long passphrase that happens to contain "Mosel" or "Sommer" is still accepted.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import re
from collections.abc import Iterable, Iterator
from datetime import date
from enum import StrEnum
from importlib import resources

from servicekonto.security.passwords import normalise_password

MIN_LENGTH = 10
MAX_LENGTH = 128  # NIST SP 800-63B §5.1.1.2: permit at least 64 characters
PERSONAL_WORD_MIN_LENGTH = 4  # shorter names ("Jo", "Li") would match by chance
MIN_RUN = 3  # predictable steps shorter than this occur in every natural word
SERVICE_WORDS = ("servicekonto", "service konto")
GERMAN_LIST = "common_passwords_de.txt"

_TRAILING_SUFFIX = re.compile(r"[\d\W_]+$")  # digits, punctuation, symbols, emoji
_TRAILING_PUNCTUATION = re.compile(r"[\W_]+$")
_WORD_SEPARATORS = re.compile(r"[\W_]+")
_DATE_DAY_FIRST = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4})")  # German 01.05.1987
_DATE_YEAR_FIRST = re.compile(r"(\d{4})([./-])(\d{1,2})\2(\d{1,2})")  # ISO 8601 1987-05-01

# Rows of a German QWERTZ (DIN 2137) and a US QWERTY keyboard, unshifted and shifted digit rows:
# neighbouring keys in a row are what a "keyboard walk" such as "qwertzuiop" or "!@#$%" steps.
_KEYBOARD_ROWS = (
    "^1234567890ß\u00b4",  # ends in the acute-accent dead key
    '°!"§$%&/()=?`',
    "qwertzuiopü+",
    "asdfghjklöä#",
    "<yxcvbnm,.-",
    "`1234567890-=",
    "~!@#$%^&*()_+",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
)


class PasswordProblem(StrEnum):
    """Why a password is refused; the values are message ids of the pages' catalogue."""

    TOO_SHORT = "password.too_short"
    TOO_LONG = "password.too_long"
    COMMON = "password.common"
    PERSONAL = "password.contains_personal_data"
    REPETITIVE = "password.repetitive"


def check_password(password: str, context: Iterable[str] = ()) -> list[PasswordProblem]:
    """Every problem of a new password; an empty list means it is acceptable.

    `context` holds what an attacker knows about the person: the e-mail address (its local part
    counts), given names, family name, birth year.
    """
    text = normalise_password(password)
    if len(text) > MAX_LENGTH:
        return [PasswordProblem.TOO_LONG]  # and spend no further work on oversized input
    checks = (
        (PasswordProblem.TOO_SHORT, len(text) < MIN_LENGTH),
        (PasswordProblem.COMMON, is_common(text)),
        (PasswordProblem.PERSONAL, is_personal(text, context)),
        (PasswordProblem.REPETITIVE, is_repetitive(text)),
    )
    return [problem for problem, found in checks if found]


# --- commonly used passwords ------------------------------------------------------------------


@functools.cache
def common_passwords() -> frozenset[str]:
    """The blocklist, case-folded: zxcvbn's password frequency list and our German list."""
    return frozenset(word.casefold() for word in (*_zxcvbn_passwords(), *german_passwords()))


def german_passwords() -> list[str]:
    """The entries of our German list, in file order (comments and blank lines dropped)."""
    data = resources.files("servicekonto.accounts").joinpath("data", GERMAN_LIST)
    lines = (line.strip() for line in data.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _zxcvbn_passwords() -> list[str]:
    # Imported on first use: the module holds several large word lists and is only needed when
    # someone sets a password. zxcvbn ships no type information, hence the untyped access.
    frequency_lists = importlib.import_module("zxcvbn.frequency_lists")
    passwords: list[str] = frequency_lists.FREQUENCY_LISTS["passwords"]
    return passwords


def is_common(text: str) -> bool:
    """Whether the password is listed, perhaps with a suffix of digits or punctuation added."""
    folded = text.casefold()
    candidates = {folded, "".join(folded.split())}
    candidates |= {_TRAILING_SUFFIX.sub("", candidate) for candidate in candidates}
    return not common_passwords().isdisjoint(candidates) or _is_date(folded)


def _is_date(folded: str) -> bool:
    """A calendar date alone, the classic birthday or wedding-day password."""
    bare = _TRAILING_PUNCTUATION.sub("", "".join(folded.split()))
    if match := _DATE_DAY_FIRST.fullmatch(bare):
        day, _, month, year = match.groups()
    elif match := _DATE_YEAR_FIRST.fullmatch(bare):
        year, _, month, day = match.groups()
    else:
        return False
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


# --- personal data ------------------------------------------------------------------------------


def is_personal(text: str, context: Iterable[str]) -> bool:
    """Whether personal words make up more than half of the password's letters and digits."""
    letters = _letters_and_digits(text)
    if not letters:
        return False
    marked = [False] * len(letters)
    for word in _personal_words(context):
        for start in _occurrences(letters, word):
            marked[start : start + len(word)] = [True] * len(word)
    return 2 * sum(marked) > len(letters)


def _personal_words(context: Iterable[str]) -> set[str]:
    """Each context entry's words and the entry as a whole, without separators."""
    words = {_letters_and_digits(word) for word in SERVICE_WORDS}
    for entry in context:
        local_part = entry.partition("@")[0]  # an e-mail address counts by its local part
        parts = _WORD_SEPARATORS.split(normalise_password(local_part).casefold())
        words.update(parts)
        words.add("".join(parts))
    return {word for word in words if len(word) >= PERSONAL_WORD_MIN_LENGTH}


def _letters_and_digits(text: str) -> str:
    return "".join(char for char in normalise_password(text).casefold() if char.isalnum())


def _occurrences(text: str, word: str) -> Iterator[int]:
    start = text.find(word)
    while start != -1:
        yield start
        start = text.find(word, start + 1)


# --- repetitive and sequential characters -------------------------------------------------------


def is_repetitive(text: str) -> bool:
    """Whether the password is mostly runs, sequences and keyboard walks, or a repeated block."""
    squashed = "".join(text.lower().split())
    if not squashed:
        return False
    core = _TRAILING_SUFFIX.sub("", squashed)
    in_runs = sum(_predictable_runs(squashed))
    repeated_block = _has_short_period(squashed) or (
        len(core) >= MIN_LENGTH and _has_short_period(core)
    )
    return 2 * in_runs > len(squashed) or repeated_block


def _predictable_runs(text: str) -> Iterator[int]:
    """The lengths of maximal runs of at least `MIN_RUN` characters in predictable steps."""
    run = 1
    for previous, current in itertools.pairwise(text):
        if _is_predictable_step(previous, current):
            run += 1
            continue
        if run >= MIN_RUN:
            yield run
        run = 1
    if run >= MIN_RUN:
        yield run


def _is_predictable_step(previous: str, current: str) -> bool:
    if previous == current:
        return True
    if previous.isalnum() and current.isalnum() and abs(ord(previous) - ord(current)) == 1:
        return True  # "abcdef", "98765"
    return (previous, current) in _keyboard_neighbours()


@functools.cache
def _keyboard_neighbours() -> frozenset[tuple[str, str]]:
    pairs = {(row[i], row[i + 1]) for row in _KEYBOARD_ROWS for i in range(len(row) - 1)}
    return frozenset(pairs | {(right, left) for left, right in pairs})


def _has_short_period(text: str) -> bool:
    """Whether the text repeats a block shorter than `MIN_LENGTH` at least twice ("abcabcab"):
    guessing the block is then as hard as guessing the whole, and the block is too short."""
    longest = min(MIN_LENGTH - 1, len(text) // 2)
    return any(text[period:] == text[:-period] for period in range(1, longest + 1))
