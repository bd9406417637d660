"""The manifest that goes with a batch PDF to the print shop: one CSV row per letter.

The print shop needs to know which page is which letter and where it goes (to check the
envelopes and to report returns by letter number). It never needs the PIN, so a row has no
field for it: the PIN exists only on the printed page.

CSV after RFC 4180 (comma, double quotes, CRLF), UTF-8, with a header row. A cell that a
spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) gets a
leading apostrophe (OWASP "CSV injection"): manifests do get opened in spreadsheets.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from datetime import date
from pathlib import Path

from servicekonto.pinletters.letter import LetterContent

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_POSTAL_CODE_AND_CITY = re.compile(r"(\d{5})\s+(.+)")  # German postal codes have five digits


@dataclass(frozen=True)
class ManifestRow:
    letter_number: str
    page: int
    recipient: str
    street: str
    postal_code: str
    city: str
    issued_on: date

    @classmethod
    def for_letter(cls, content: LetterContent, page: int) -> ManifestRow:
        """The row for `content`, printed on `page` (1-based) of the batch PDF."""
        postal_code, city = split_city_line(content.city_line)
        return cls(
            letter_number=content.letter_number,
            page=page,
            recipient=" / ".join(content.recipient_lines),
            street=content.street_line,
            postal_code=postal_code,
            city=city,
            issued_on=content.issued_on,
        )


MANIFEST_COLUMNS = tuple(field.name for field in fields(ManifestRow))


def split_city_line(city_line: str) -> tuple[str, str]:
    """``56812 Cochem`` → (``56812``, ``Cochem``); no postal code found → (``""``, line)."""
    match = _POSTAL_CODE_AND_CITY.fullmatch(city_line.strip())
    if match is None:
        return "", city_line.strip()
    return match[1], match[2]


def write_manifest(path: Path, rows: Iterable[ManifestRow]) -> None:
    """Write the rows as they come (memory stays flat); the file appears only when complete."""
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(MANIFEST_COLUMNS)
            for row in rows:
                writer.writerow(_cells(row))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _cells(row: ManifestRow) -> list[str]:
    return [_defused(_text(value)) for value in astuple(row)]


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _defused(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell
