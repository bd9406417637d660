"""The resident file the mock registry is loaded from: one CSV format, checked row by row.

Format: UTF-8 (a leading byte order mark is tolerated), comma-separated, quoting as in RFC 4180,
a header row naming exactly `CSV_COLUMNS` in that order, then one resident per row. Optional
values (`academic_title`, `birth_name`) are empty strings when absent; `birth_date` is
`YYYY-MM-DD`. Surrounding spaces are trimmed, and a line break inside a quoted value becomes a
space (a wrapped street name is still one street); every other control character is refused.

`read_residents` never raises for bad data: it returns the good residents and one `CsvProblem`
per problem, with the physical line the row starts on (the header is line 1), so an operator can
fix the whole file in one pass.

Import policy (decided by the project): a file with any problem imports **nothing**. Half a
registry would turn "no match" into a lie for everyone in the missing half. The caller
(`registry import`) enforces this by refusing to write when the problem list is not empty.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import TYPE_CHECKING

from servicekonto.errors import ServicekontoError
from servicekonto.registry.port import Address, ResidentRecord

if TYPE_CHECKING:
    from _csv import Reader

CSV_COLUMNS = (
    "resident_id",
    "academic_title",
    "given_names",
    "family_name",
    "birth_name",
    "birth_date",
    "birth_place",
    "street",
    "house_number",
    "postal_code",
    "city",
    "municipality",
)
OPTIONAL_COLUMNS = frozenset({"academic_title", "birth_name"})
# Bounds of the registry_residents columns: a longer value could not be stored anyway.
MAX_LENGTHS = {
    "resident_id": 13,
    "academic_title": 50,
    "given_names": 200,
    "family_name": 200,
    "birth_name": 200,
    "birth_place": 200,
    "street": 200,
    "house_number": 20,
    "city": 200,
    "municipality": 64,
}
PACKAGED_FILE = "data/residents.csv"

_RESIDENT_ID = re.compile(r"R[0-9]{6,12}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_POSTAL_CODE = re.compile(r"[0-9]{5}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"


@dataclass(frozen=True)
class CsvProblem:
    line: int
    message: str


class ResidentFileError(ServicekontoError):
    """The resident file has problems; the message lists them, one per line."""

    def __init__(self, problems: list[CsvProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"line {p.line}: {p.message}" for p in problems))


def read_residents(
    lines: Iterable[str], *, today: date | None = None
) -> tuple[list[ResidentRecord], list[CsvProblem]]:
    """The valid residents of a resident file and every problem found in it.

    `lines` as from a file opened with `newline=""` (or `io.StringIO(text, newline="")`): they
    keep their line ends, which a line break inside a quoted value needs;
    `today` bounds birth dates and defaults to the current date.
    """
    reader = csv.reader(_without_bom(lines), strict=True)
    header_problem = _read_header(reader)
    if header_problem is not None:
        return [], [header_problem]
    checker = _RowChecker(today or date.today())
    for line, row in _rows(reader):
        checker.check(line, row)
    return checker.residents, checker.problems


def load_packaged_residents() -> list[ResidentRecord]:
    """The synthetic residents shipped with the package; raises ResidentFileError on problems."""
    source = resources.files("servicekonto.registry").joinpath(PACKAGED_FILE)
    text = source.read_text(encoding="utf-8")
    residents, problems = read_residents(io.StringIO(text, newline=""))
    if problems:
        raise ResidentFileError(problems)
    return residents


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    """Spreadsheet programs start UTF-8 files with a byte order mark; it is not part of a name."""
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        return
    yield first.removeprefix(_BOM)
    yield from iterator


def _read_header(reader: Reader) -> CsvProblem | None:
    try:
        header = next(reader, None)
    except csv.Error as error:
        return CsvProblem(1, f"unreadable header: {error}")
    if header is None or tuple(name.strip() for name in header) != CSV_COLUMNS:
        return CsvProblem(1, "the header must be: " + ",".join(CSV_COLUMNS))
    return None


def _rows(reader: Reader) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """(line the record starts on, its fields or the parse error); blank lines are skipped.

    `line_num` counts physical lines consumed, so a record with a quoted line break inside
    still gives the right line to every record after it.
    """
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield start, error
            continue
        if row:
            yield start, row


class _RowChecker:
    """Collects residents and problems row by row; remembers ids to find duplicates."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.residents: list[ResidentRecord] = []
        self.problems: list[CsvProblem] = []
        self._first_line_of: dict[str, int] = {}

    def check(self, line: int, row: list[str] | csv.Error) -> None:
        if isinstance(row, csv.Error):
            self.problems.append(CsvProblem(line, f"unreadable row: {row}"))
            return
        if len(row) != len(CSV_COLUMNS):
            message = f"expected {len(CSV_COLUMNS)} columns, found {len(row)}"
            self.problems.append(CsvProblem(line, message))
            return
        unwrapped = dict(
            zip(CSV_COLUMNS, (_LINE_BREAK.sub(" ", value) for value in row), strict=True)
        )
        values = {column: value.strip() for column, value in unwrapped.items()}
        messages = [
            *_control_characters(unwrapped),
            *_field_problems(values),
            *self._duplicate(line, values["resident_id"]),
        ]
        self.problems.extend(CsvProblem(line, message) for message in messages)
        birth_date, date_messages = _birth_date(values["birth_date"], self.today)
        self.problems.extend(CsvProblem(line, message) for message in date_messages)
        if not messages and birth_date is not None:
            self.residents.append(_record(values, birth_date))

    def _duplicate(self, line: int, resident_id: str) -> list[str]:
        first = self._first_line_of.setdefault(resident_id, line)
        if first == line or not resident_id:
            return []
        return [f"resident_id {resident_id} already used on line {first}"]


def _control_characters(values: dict[str, str]) -> list[str]:
    """Checked before trimming: strip() would silently drop a tab or NEL at either end."""
    return [
        f"{column} contains a control character"
        for column, value in values.items()
        if any(unicodedata.category(char) == "Cc" for char in value)
    ]


def _field_problems(values: dict[str, str]) -> list[str]:
    messages = []
    for column, value in values.items():
        if not value and column not in OPTIONAL_COLUMNS:
            messages.append(f"{column} is required")
        elif len(value) > MAX_LENGTHS.get(column, len(value)):
            messages.append(f"{column} is longer than {MAX_LENGTHS[column]} characters")
    resident_id, postal_code = values["resident_id"], values["postal_code"]
    if resident_id and _RESIDENT_ID.fullmatch(resident_id) is None:
        messages.append("resident_id must be R followed by 6 to 12 digits")
    if postal_code and _POSTAL_CODE.fullmatch(postal_code) is None:
        messages.append("postal_code must be 5 digits")
    return messages


def _birth_date(value: str, today: date) -> tuple[date | None, list[str]]:
    if not value:
        return None, []  # already reported as required
    if _ISO_DATE.fullmatch(value) is None:
        return None, ["birth_date must be YYYY-MM-DD"]
    try:
        birth_date = date.fromisoformat(value)
    except ValueError:
        return None, [f"birth_date {value} is not a calendar date"]
    if birth_date > today:
        return None, [f"birth_date {value} is in the future"]
    return birth_date, []


def _record(values: dict[str, str], birth_date: date) -> ResidentRecord:
    return ResidentRecord(
        resident_id=values["resident_id"],
        academic_title=values["academic_title"] or None,
        given_names=values["given_names"],
        family_name=values["family_name"],
        birth_name=values["birth_name"] or None,
        birth_date=birth_date,
        birth_place=values["birth_place"],
        address=Address(
            street=values["street"],
            house_number=values["house_number"],
            postal_code=values["postal_code"],
            city=values["city"],
        ),
        municipality=values["municipality"],
    )
