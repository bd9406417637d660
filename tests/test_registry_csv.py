"""The resident file: the shipped synthetic data set, and every way a row can be broken."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from servicekonto.registry.csv_format import (
    CSV_COLUMNS,
    CsvProblem,
    ResidentFileError,
    load_packaged_residents,
    read_residents,
)
from servicekonto.registry.matching import is_match
from servicekonto.registry.port import RegistryQuery, ResidentRecord

REPOSITORY = Path(__file__).resolve().parents[1]
GENERATOR = REPOSITORY / "tools" / "generate_residents.py"
SHIPPED = REPOSITORY / "src" / "servicekonto" / "registry" / "data" / "residents.csv"
TODAY = date(2026, 11, 21)
HEADER = ",".join(CSV_COLUMNS)
GOOD = "R000010,,Anna,Becker,,1990-01-02,Koblenz,Moselstraße,4,56812,Cochem,vg-cochem"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_residents", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up by name while the class is being created
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return _generator()


@pytest.fixture(scope="module")
def shipped() -> list[ResidentRecord]:
    return load_packaged_residents()


def query_from(resident: ResidentRecord) -> RegistryQuery:
    """What this resident would type on the registration page."""
    return RegistryQuery(
        given_names=resident.given_names,
        family_name=resident.family_name,
        birth_name=resident.birth_name,
        birth_date=resident.birth_date,
        address=resident.address,
    )


def read(*rows: str) -> tuple[list[ResidentRecord], list[CsvProblem]]:
    text = "\r\n".join(rows) + "\r\n"
    return read_residents(io.StringIO(text, newline=""), today=TODAY)


# -- the shipped data set ------------------------------------------------------------------------


def test_shipped_file_loads_without_problems(shipped: list[ResidentRecord]) -> None:
    with SHIPPED.open(encoding="utf-8", newline="") as file:
        residents, problems = read_residents(file)
    assert problems == []
    assert residents == shipped
    assert len(shipped) >= 5000
    assert len({resident.resident_id for resident in shipped}) == len(shipped)


def test_shipped_file_is_small_enough_to_commit() -> None:
    assert SHIPPED.stat().st_size < 1_500_000


def test_shipped_file_is_what_the_generator_writes(generator: ModuleType) -> None:
    assert generator.render(generator.residents()).encode("utf-8") == SHIPPED.read_bytes()


def test_generator_runs_twice_to_identical_bytes(tmp_path: Path) -> None:
    outputs = [tmp_path / "first.csv", tmp_path / "second.csv"]
    for output in outputs:
        command = [sys.executable, str(GENERATOR), "--output", str(output)]
        subprocess.run(command, check=True, cwd=REPOSITORY, timeout=60)
    assert outputs[0].read_bytes() == outputs[1].read_bytes() == SHIPPED.read_bytes()


def _matches_by_resident(residents: list[ResidentRecord]) -> dict[str, list[str]]:
    """For each resident, who a query built from them matches (the registry checks birth date
    first, so only residents born the same day are candidates)."""
    born_on: dict[date, list[ResidentRecord]] = defaultdict(list)
    for resident in residents:
        born_on[resident.birth_date].append(resident)
    return {
        resident.resident_id: [
            other.resident_id
            for other in born_on[resident.birth_date]
            if is_match(query_from(resident), other)
        ]
        for resident in residents
    }


def test_twins_make_lookups_ambiguous(shipped: list[ResidentRecord], generator: ModuleType) -> None:
    by_id = {resident.resident_id: resident for resident in shipped}
    assert len(generator.TWIN_PAIRS) >= 3
    for first, second in generator.TWIN_PAIRS:
        query = query_from(by_id[first])
        assert is_match(query, by_id[first])
        assert is_match(query, by_id[second])


def test_ambiguity_only_where_intended(
    shipped: list[ResidentRecord], generator: ModuleType
) -> None:
    ambiguous = {
        resident_id
        for resident_id, matches in _matches_by_resident(shipped).items()
        if len(matches) != 1
    }
    assert ambiguous == {resident_id for pair in generator.TWIN_PAIRS for resident_id in pair}


def test_near_twins_are_ambiguous_by_first_given_name_only(
    shipped: list[ResidentRecord], generator: ModuleType
) -> None:
    by_id = {resident.resident_id: resident for resident in shipped}
    for first, second in generator.NEAR_TWIN_PAIRS:
        one, other = by_id[first], by_id[second]
        lead = RegistryQuery(
            one.given_names.split()[0], one.family_name, None, one.birth_date, one.address
        )
        assert is_match(lead, one)
        assert is_match(lead, other)
        assert not is_match(query_from(one), other)


def test_demo_residents_are_plain(shipped: list[ResidentRecord]) -> None:
    demo = shipped[:5]
    assert [resident.resident_id for resident in demo] == [f"R00000{n}" for n in range(1, 6)]
    for resident in demo:
        assert resident.academic_title is None
        assert resident.birth_name is None
        assert resident.given_names.isalpha() and resident.family_name.isalpha()
        assert resident.given_names.isascii() and resident.family_name.isascii()
        assert resident.address.house_number.isdigit()
        assert sum(is_match(query_from(resident), other) for other in shipped) == 1


def test_shipped_file_covers_the_hard_cases(shipped: list[ResidentRecord]) -> None:
    family_names = [resident.family_name for resident in shipped]
    assert {resident.municipality for resident in shipped} == {
        "vg-cochem",
        "vg-zell",
        "vg-ulmen",
        "vg-kaisersesch",
    }
    assert any("ß" in name for name in family_names)
    assert any(char in name for name in family_names for char in "äöü")
    assert any("-" in name and " " not in name for name in family_names)
    assert any(name.startswith(("von ", "zu ")) for name in family_names)
    assert any(" " in r.given_names or "-" in r.given_names for r in shipped)
    assert {r.academic_title for r in shipped} >= {"Dr.", "Prof. Dr."}
    assert sum(1 for r in shipped if r.birth_name) >= 100
    assert sum(1 for r in shipped if len(r.address.street) >= 60) >= 3
    assert any(r.address.house_number[-1].isalpha() for r in shipped)
    assert min(r.birth_date for r in shipped).year >= 1930
    assert max(r.birth_date for r in shipped).year <= 2008


# -- reading: what is accepted --------------------------------------------------------------------


def test_a_good_file() -> None:
    residents, problems = read(HEADER, GOOD)
    assert problems == []
    [anna] = residents
    assert anna.resident_id == "R000010"
    assert anna.academic_title is None and anna.birth_name is None
    assert anna.birth_date == date(1990, 1, 2)
    assert anna.address.city == "Cochem"


def test_quoted_field_with_comma_and_line_break() -> None:
    wrapped = 'R000011,Dr.,Jonas,Klein,,1980-03-04,"Frankfurt, Main",'
    wrapped += '"Straße der Winzer,\r\nobere Hälfte",7 a,56759,Kaisersesch,vg-kaisersesch'
    residents, problems = read(HEADER, wrapped, "R000012,,x,y,,bad,z,s,1,56759,K,vg")
    assert residents[0].birth_place == "Frankfurt, Main"
    assert residents[0].address.street == "Straße der Winzer, obere Hälfte"
    assert residents[0].academic_title == "Dr."
    # The record took two physical lines, so the broken one after it starts on line 4.
    assert problems == [CsvProblem(4, "birth_date must be YYYY-MM-DD")]


def test_byte_order_mark_is_tolerated() -> None:
    residents, problems = read("\ufeff" + HEADER, GOOD)
    assert problems == []
    assert len(residents) == 1


def test_lines_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "residents.csv"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + GOOD + "\r\n").encode("utf-8"))
    with path.open(encoding="utf-8", newline="") as file:
        residents, problems = read_residents(file, today=TODAY)
    assert (len(residents), problems) == (1, [])


def test_blank_lines_are_skipped() -> None:
    residents, problems = read(HEADER, "", GOOD, "")
    assert (len(residents), problems) == (1, [])


# -- reading: what is reported --------------------------------------------------------------------


def _row(**changes: str) -> str:
    values = dict(zip(CSV_COLUMNS, GOOD.split(","), strict=True)) | changes
    return ",".join(values[column] for column in CSV_COLUMNS)


BROKEN_ROWS = [
    ("too few columns", "R000020,,Anna,Becker", "expected 12 columns, found 4"),
    ("too many columns", GOOD.replace("R000010", "R000020") + ",extra", "found 13"),
    ("not a date", _row(resident_id="R000020", birth_date="02.01.1990"), "YYYY-MM-DD"),
    ("no such day", _row(resident_id="R000020", birth_date="1990-02-30"), "not a calendar date"),
    ("future date", _row(resident_id="R000020", birth_date="2026-11-22"), "in the future"),
    ("short postal code", _row(resident_id="R000020", postal_code="5681"), "5 digits"),
    ("letter in postal code", _row(resident_id="R000020", postal_code="5681a"), "5 digits"),
    ("duplicate id", GOOD, "resident_id R000010 already used on line 2"),
    ("bad id", _row(resident_id="X000020"), "resident_id must be R followed by"),
    ("short id", _row(resident_id="R12345"), "resident_id must be R followed by"),
    ("control character", _row(resident_id="R000020", given_names="An\x07na"), "control"),
    ("tab", _row(resident_id="R000020", family_name="Be\tcker"), "control character"),
    ("tab at the end", _row(resident_id="R000020", family_name="Becker\t"), "control"),
    ("next line", _row(resident_id="R000020", city="\x85Cochem"), "city contains a control"),
    ("overlong street", _row(resident_id="R000020", street="x" * 201), "street is longer"),
    ("overlong name", _row(resident_id="R000020", family_name="y" * 201), "family_name is"),
    ("overlong house number", _row(resident_id="R000020", house_number="1" * 21), "house_n"),
    ("overlong municipality", _row(resident_id="R000020", municipality="m" * 65), "municip"),
    ("missing given names", _row(resident_id="R000020", given_names=" "), "given_names is"),
    ("missing city", _row(resident_id="R000020", city=""), "city is required"),
    ("missing birth date", _row(resident_id="R000020", birth_date=""), "birth_date is required"),
    ("stray quote", _row(resident_id="R000020", city='"Cochem"x'), "unreadable row"),
]


@pytest.mark.parametrize(
    ("row", "message"),
    [pytest.param(row, message, id=name) for name, row, message in BROKEN_ROWS],
)
def test_broken_row_is_reported_with_its_line(row: str, message: str) -> None:
    residents, problems = read(HEADER, GOOD, row, GOOD.replace("R000010", "R000030"))
    assert [problem.line for problem in problems] == [3]
    assert message in problems[0].message
    assert [resident.resident_id for resident in residents] == ["R000010", "R000030"]


def test_every_broken_row_is_reported() -> None:
    rows = [HEADER, GOOD, "R000020,,Anna", _row(resident_id="R000021", birth_date="2099-01-01")]
    rows += [GOOD, _row(resident_id="R000022", postal_code="1", street="z" * 300)]
    residents, problems = read(*rows)
    assert [problem.line for problem in problems] == [3, 4, 5, 6, 6]
    assert len(residents) == 1


def test_birth_date_today_is_allowed() -> None:
    _, problems = read(HEADER, _row(birth_date=TODAY.isoformat()))
    assert problems == []


@pytest.mark.parametrize(
    "header",
    [
        "",
        GOOD,
        HEADER.replace("city", "town"),
        ",".join(reversed(CSV_COLUMNS)),
        HEADER + ",extra",
        '"resident_id"x,' + HEADER.partition(",")[2],
    ],
)
def test_missing_or_wrong_header_is_one_problem_on_line_1(header: str) -> None:
    residents, problems = read(header, GOOD, "broken")
    assert residents == []
    assert len(problems) == 1
    assert problems[0].line == 1
    assert "header" in problems[0].message


def test_empty_input_is_a_missing_header() -> None:
    residents, problems = read_residents([], today=TODAY)
    assert residents == []
    assert [problem.line for problem in problems] == [1]
    assert "header" in problems[0].message


def test_resident_file_error_lists_problems() -> None:
    error = ResidentFileError([CsvProblem(3, "postal_code must be 5 digits"), CsvProblem(9, "x")])
    assert str(error) == "line 3: postal_code must be 5 digits\nline 9: x"
