"""Loading residents into the mock registry from CSV: all rows, or none.

A file with any broken row imports nothing, and every broken row is reported with its line
number: a half-imported registry would match some people and silently miss others.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from servicekonto.registry.csv_format import CsvProblem, read_residents
from servicekonto.registry.port import ResidentRecord
from servicekonto.registry.repository import ResidentRepository
from servicekonto.store.engine import Database


def read_file(path: Path) -> tuple[list[ResidentRecord], list[CsvProblem]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return read_residents(handle)
    except (OSError, UnicodeDecodeError) as error:
        return [], [CsvProblem(line=1, message=f"cannot read the file: {error}")]


def import_residents(database: Database, records: Sequence[ResidentRecord]) -> int:
    with database.unit_of_work() as uow:
        ResidentRepository(uow.session).upsert(records)
        uow.commit()
    return len(records)
