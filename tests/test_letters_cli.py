"""The operator's commands: `registry import` (all rows or none) and `letters list|export`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select

from servicekonto.app import create_app
from servicekonto.config import load_settings, with_secret_key
from servicekonto.pinletters.models import PinLetter
from servicekonto.registry.csv_format import CSV_COLUMNS
from servicekonto.registry.repository import ResidentRepository
from servicekonto.store.engine import Database
from tests.cli_helpers import run_cli
from tests.web_helpers import Browser, RecordingMailSender, cheap_settings

LENA = {
    "given_names": "Lena",
    "family_name": "Becker",
    "birth_date": "1988-04-12",
    "birth_place": "Koblenz",
    "street": "Moselstraße",
    "house_number": "14",
    "postal_code": "56812",
    "city": "Cochem",
}


def _database(tmp_path: Path) -> Database:
    return Database.from_url(f"sqlite:///{tmp_path / 'var' / 'servicekonto.sqlite3'}")


def _register_lena(tmp_path: Path) -> None:
    """Register as demo resident R000001 through the pages, on the CLI's own database."""
    settings = with_secret_key(load_settings(var_dir=tmp_path / "var"))
    database, mail = _database(tmp_path), RecordingMailSender()
    app = create_app(cheap_settings(settings), database=database, mail_sender=mail)
    browser = Browser(app)
    assert browser.register(**LENA).status_code == 303
    assert browser.confirm(mail.last_link()).status_code == 200
    database.dispose()


def test_export_writes_pdf_and_manifest_and_marks_the_letters(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "demo").returncode == 0
    _register_lena(tmp_path)
    listed = json.loads(run_cli(tmp_path, "letters", "list", "--json").stdout)
    assert [letter["status"] for letter in listed] == ["queued"]
    assert "recipient" not in listed[0], "operators' listings carry no names"

    result = run_cli(tmp_path, "letters", "export", "--out", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["letters"] == 1
    pdf = PdfReader(summary["pdf"])
    assert len(pdf.pages) == 1
    text = pdf.pages[0].extract_text()
    assert listed[0]["letter_number"] in text
    assert "Lena Becker" in text
    with open(summary["manifest"], encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["letter_number"] for row in rows] == [listed[0]["letter_number"]]
    assert "pin" not in {key.lower() for key in rows[0]}

    database = _database(tmp_path)
    with database.session() as session:
        letter = session.scalars(select(PinLetter)).one()
    database.dispose()
    assert letter.status == "exported"
    assert letter.pin_sealed is None, "printed: the PIN exists only on paper now"

    again = json.loads(
        run_cli(tmp_path, "letters", "export", "--out", str(tmp_path / "out"), "--json").stdout
    )
    assert again["letters"] == 0
    assert len(list((tmp_path / "out").iterdir())) == 2


def test_list_filters_by_status(tmp_path: Path) -> None:
    run_cli(tmp_path, "demo")
    _register_lena(tmp_path)
    assert (
        json.loads(run_cli(tmp_path, "letters", "list", "--status", "used", "--json").stdout) == []
    )
    bad = run_cli(tmp_path, "letters", "list", "--status", "lost")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr


def _csv(tmp_path: Path, rows: list[list[str]]) -> Path:
    path = tmp_path / "residents.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    return path


def _row(resident_id: str, birth_date: str = "1970-01-02", postal_code: str = "56812") -> list[str]:
    values = {
        "resident_id": resident_id,
        "academic_title": "",
        "given_names": "Test",
        "family_name": "Person",
        "birth_name": "",
        "birth_date": birth_date,
        "birth_place": "Cochem",
        "street": "Hauptstraße",
        "house_number": "1",
        "postal_code": postal_code,
        "city": "Cochem",
        "municipality": "vg-cochem",
    }
    return [values[column] for column in CSV_COLUMNS]


def _residents(tmp_path: Path) -> int:
    database = _database(tmp_path)
    with database.session() as session:
        count = ResidentRepository(session).count()
    database.dispose()
    return count


def test_import_with_a_broken_row_imports_nothing_and_names_the_lines(tmp_path: Path) -> None:
    run_cli(tmp_path, "db", "upgrade")
    path = _csv(
        tmp_path,
        [
            _row("R100001"),
            _row("R100002", birth_date="2099-01-01"),
            _row("R100003", postal_code="5681"),
        ],
    )
    result = run_cli(tmp_path, "registry", "import", str(path))
    assert result.returncode == 1
    assert f"{path}:3:" in result.stderr
    assert f"{path}:4:" in result.stderr
    assert "Traceback" not in result.stderr
    assert _residents(tmp_path) == 0


def test_import_of_a_good_file(tmp_path: Path) -> None:
    run_cli(tmp_path, "db", "upgrade")
    path = _csv(tmp_path, [_row("R100001"), _row("R100002")])
    result = run_cli(tmp_path, "registry", "import", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"imported": 2}
    assert _residents(tmp_path) == 2


def test_import_of_a_missing_or_binary_file(tmp_path: Path) -> None:
    run_cli(tmp_path, "db", "upgrade")
    missing = run_cli(tmp_path, "registry", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode in {1, 2}
    assert "Traceback" not in missing.stderr
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = run_cli(tmp_path, "registry", "import", str(binary))
    assert result.returncode == 1
    assert "line" in result.stderr or ":1:" in result.stderr
