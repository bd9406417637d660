"""PIN letter PDFs, checked with an independent reader (pypdf), not with the renderer.

Positions come from pypdf's text visitor; text widths from the font's own /Widths and
/ToUnicode in the PDF, so the window check does not trust reportlab's metrics.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import segno
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from servicekonto.pinletters.letter import (
    LetterContent,
    grouped_pin,
    postal_latin,
)
from servicekonto.pinletters.manifest import ManifestRow, split_city_line, write_manifest
from servicekonto.pinletters.render import (
    AddressDoesNotFitError,
    LetterPdfWriter,
    has_glyph,
    qr_runs,
    render_letter,
    unprintable_characters,
)

MM = 72 / 25.4
A4 = (595.28, 841.89)
STANDARD_14 = {
    "Times-Roman", "Times-Bold", "Times-Italic", "Times-BoldItalic", "Helvetica",
    "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique", "Courier", "Courier-Bold",
    "Courier-Oblique", "Courier-BoldOblique", "Symbol", "ZapfDingbats",
}  # fmt: skip
LONG_STREET = "Oberbürgermeister-Dr.-Friedrich-Wilhelm-von-Hohenzollern-Sigmaringen-Straße 123a"


def letter(**changes: Any) -> LetterContent:
    content = LetterContent(
        letter_number="SK-2026-000123",
        recipient_lines=("Dr. Anna Maria Schmitz-Müller",),
        street_line="Moselstraße 7",
        city_line="56812 Cochem",
        pin="ABCDEFGHK3",
        pin_entry_url="https://konto.example.de/account/pin",
        issued_on=date(2026, 9, 21),
        valid_until=date(2026, 12, 21),
        sender_name="Kreisverwaltung Cochem-Zell",
        sender_address="Endertplatz 2, 56812 Cochem",
        salutation="Guten Tag Anna Maria Schmitz-Müller,",
    )
    return dataclasses.replace(content, **changes)


def read(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data), strict=True)


@dataclasses.dataclass(frozen=True)
class Fragment:
    text: str
    x: float  # left end of the baseline, pt from the left edge
    y: float  # baseline, pt from the bottom edge
    width: float
    ascent: float
    descent: float

    @property
    def top_mm(self) -> float:
        return (A4[1] - self.y - self.ascent) / MM

    @property
    def bottom_mm(self) -> float:
        return (A4[1] - self.y + self.descent) / MM


def fragments(page: Any) -> list[Fragment]:
    found: list[Fragment] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        text = text.strip("\n")
        if not text.strip() or font is None:
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        descriptor = font["/FontDescriptor"]
        scale = size / 1000
        found.append(
            Fragment(
                text,
                x,
                y,
                text_width(font, text) * scale,
                float(descriptor["/Ascent"]) * scale,
                -float(descriptor["/Descent"]) * scale,
            )
        )

    page.extract_text(visitor_text=visit)
    return found


def text_width(font: DictionaryObject, text: str) -> float:
    """Width in 1/1000 em from the PDF's own /Widths, via its /ToUnicode code mapping."""
    cmap = font["/ToUnicode"].get_data().decode("latin-1")
    codes = {
        chr(int(unicode, 16)): int(code, 16)
        for code, unicode in re.findall(r"<([0-9A-F]{2})> <([0-9A-F]{4})>", cmap)
    }
    widths, first = font["/Widths"], int(font["/FirstChar"])
    return sum(float(widths[codes[char] - first]) for char in text)


def address_fragments(page: Any) -> list[Fragment]:
    """Text in the left column between the letterhead and the subject, below the return line."""
    return [
        f
        for f in fragments(page)
        if f.x < 110 * MM and 50 <= (A4[1] - f.y) / MM <= 96 and "·" not in f.text
    ]


def assert_inside_window(parts: list[Fragment]) -> None:
    # DIN 5008 form B Anschriftfeld: 20 mm from the left, 45 mm from the top, 85 x 45 mm.
    for part in parts:
        assert part.x >= 20 * MM, part
        assert part.x + part.width <= 105 * MM, part
        assert part.top_mm >= 45, part
        assert part.bottom_mm <= 90, part


def all_fonts(resources: Any) -> list[DictionaryObject]:
    fonts = list(resources.get("/Font", {}).values())
    for xobject in resources.get("/XObject", {}).values():
        fonts += all_fonts(xobject.get_object().get("/Resources", {}))
    return [font.get_object() for font in fonts]


def test_one_a4_page() -> None:
    reader = read(render_letter(letter()))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(A4[0], abs=1)
    assert float(box.height) == pytest.approx(A4[1], abs=1)


def test_text_has_pin_number_url_recipient_and_validity() -> None:
    text = read(render_letter(letter())).pages[0].extract_text()
    for expected in (
        "ABCD EFGH K3",
        "SK-2026-000123",
        "https://konto.example.de/account/pin",
        "Dr. Anna Maria Schmitz-Müller",
        "Moselstraße 7",
        "56812 Cochem",
        "gültig bis 21.12.2026",
        "Ihr PIN für das ServiceKonto",
        "Mit freundlichen Grüßen",
    ):
        assert expected in text


def test_every_font_is_embedded_truetype_and_none_is_standard_14() -> None:
    reader = read(render_letter(letter()))
    fonts = all_fonts(reader.pages[0]["/Resources"])
    assert fonts
    for font in fonts:
        name = str(font["/BaseFont"]).lstrip("/").split("+")[-1]
        assert name not in STANDARD_14
        assert "/FontFile2" in font["/FontDescriptor"]


def test_recipient_lies_inside_the_window_field() -> None:
    page = read(render_letter(letter())).pages[0]
    parts = address_fragments(page)
    assert [p.text for p in parts] == [
        "Dr. Anna Maria Schmitz-Müller",
        "Moselstraße 7",
        "56812 Cochem",
    ]
    assert_inside_window(parts)


def test_fold_and_hole_marks_sit_at_105_148_5_and_210_mm() -> None:
    page = read(render_letter(letter())).pages[0]
    starts = [
        (float(operands[0]) / MM, (A4[1] - float(operands[1])) / MM)
        for operands, operator in page.get_contents().operations
        if operator == b"m"
    ]
    marks = sorted(round(top, 1) for left, top in starts if left < 10)
    assert marks == [105.0, 148.5, 210.0]


def test_long_names_keep_the_text_on_the_page() -> None:
    name = "Anna Maria Theresia Elisabeth von und zu Hohenlohe-Waldenburg-Schillingsfürst"
    content = letter(
        recipient_lines=(name,),
        salutation=f"Guten Tag {name} {name},",
        sender_name="Kreisverwaltung des Landkreises Cochem-Zell, Abteilung Bürgerdienste",
    )
    for part in fragments(read(render_letter(content)).pages[0]):
        assert part.bottom_mm <= 297 - 15, part
        assert part.x + part.width <= 210 * MM - 10 * MM or part.text.strip() == "", part


def test_return_address_sits_in_the_top_5_mm_of_the_field() -> None:
    page = read(render_letter(letter())).pages[0]
    (line,) = [f for f in fragments(page) if "·" in f.text]
    assert line.text == "Kreisverwaltung Cochem-Zell · Endertplatz 2 · 56812 Cochem"
    assert line.top_mm >= 45
    assert line.bottom_mm <= 50
    assert line.x + line.width <= 105 * MM


def test_a_very_long_street_is_shrunk_and_wrapped_inside_the_window() -> None:
    content = letter(
        recipient_lines=("Dr. Anna Maria Schmitz-Müller", "c/o Hausverwaltung Mosel-Eifel GmbH"),
        street_line=LONG_STREET,
    )
    parts = address_fragments(read(render_letter(content)).pages[0])
    assert_inside_window(parts)
    street = [p.text for p in parts[2:-1]]
    assert len(street) >= 2
    assert "".join(street).replace(" ", "") == LONG_STREET.replace(" ", "")


def test_an_address_that_cannot_fit_is_refused_before_drawing(tmp_path: Path) -> None:
    too_long = letter(recipient_lines=(LONG_STREET,) * 4, street_line=LONG_STREET)
    with LetterPdfWriter(tmp_path / "batch.pdf") as writer:
        with pytest.raises(AddressDoesNotFitError):
            writer.add(too_long)
        assert writer.add(letter()) == 1
    assert len(read((tmp_path / "batch.pdf").read_bytes()).pages) == 1


def test_a_cyrillic_name_is_transliterated_for_the_post() -> None:
    content = letter(recipient_lines=("Жанна Иванова",), salutation="Guten Tag Жанна Иванова,")
    page = read(render_letter(content)).pages[0]
    text = page.extract_text()
    assert "Zhanna Ivanova" in text
    assert "Guten Tag Zhanna Ivanova," in text
    assert_inside_window(address_fragments(page))
    assert unprintable_characters(content) == ""


def test_a_name_without_transliteration_shows_a_placeholder_and_is_reported() -> None:
    content = letter(recipient_lines=("Li 张伟",))
    text = read(render_letter(content)).pages[0].extract_text()
    assert "Li ??" in text
    assert unprintable_characters(content) == "伟张"


@pytest.mark.parametrize(
    ("name", "postal"),
    [
        ("Łódź", "Łódz"),  # ł is in the font, ź is not: accent dropped
        ("Nguyễn", "Nguyen"),
        ("ЖАННА Щукина", "ZHANNA Shchukina"),
        ("Йосиф", "Iosif"),
        ("Νίκος", "Nikos"),
        ("Øresund Straße 1", "Øresund Straße 1"),
        ("GROẞE STRAẞE", "GROSSE STRASSE"),  # capital sharp s is not in the font
    ],
)
def test_postal_latin(name: str, postal: str) -> None:
    assert postal_latin(name, has_glyph) == postal


def test_pin_is_grouped_in_fours() -> None:
    assert grouped_pin("abcd-efgh k3") == "ABCD EFGH K3"


def test_qr_runs_cover_exactly_the_dark_modules() -> None:
    url = "https://konto.example.de/account/pin"
    matrix = segno.make(url, error="m", micro=False).matrix
    drawn = {(row, column + i) for row, column, length in qr_runs(url) for i in range(length)}
    dark = {(r, c) for r, line in enumerate(matrix) for c, module in enumerate(line) if module}
    assert drawn == dark


def batch(count: int) -> list[LetterContent]:
    return [
        letter(
            letter_number=f"SK-2026-{n:06d}", pin=f"PQRS{n:04d}TV", recipient_lines=(f"Person {n}",)
        )
        for n in range(1, count + 1)
    ]


def test_writer_renders_many_letters_into_one_file_with_a_manifest(tmp_path: Path) -> None:
    contents = batch(7)
    rows = []
    with LetterPdfWriter(tmp_path / "batch.pdf", chunk_size=3) as writer:
        for content in contents:
            rows.append(ManifestRow.for_letter(content, writer.add(content)))
    write_manifest(tmp_path / "batch.csv", rows)

    reader = PdfReader(tmp_path / "batch.pdf", strict=True)
    assert len(reader.pages) == 7
    with (tmp_path / "batch.csv").open(encoding="utf-8", newline="") as handle:
        manifest = list(csv.DictReader(handle))
    assert [row["page"] for row in manifest] == [str(n) for n in range(1, 8)]
    for row, content in zip(manifest, contents, strict=True):
        page_text = reader.pages[int(row["page"]) - 1].extract_text()
        assert row["letter_number"] == content.letter_number
        assert content.letter_number in page_text
        assert grouped_pin(content.pin) in page_text
    assert list(manifest[0]) == [
        "letter_number", "page", "recipient", "street", "postal_code", "city", "issued_on",
    ]  # fmt: skip
    assert manifest[0]["postal_code"] == "56812"
    assert manifest[0]["issued_on"] == "2026-09-21"


def test_the_manifest_holds_no_pin(tmp_path: Path) -> None:
    contents = batch(3)
    write_manifest(
        tmp_path / "m.csv", (ManifestRow.for_letter(c, n) for n, c in enumerate(contents, 1))
    )
    manifest = (tmp_path / "m.csv").read_text(encoding="utf-8")
    for content in contents:
        assert content.pin not in manifest
        assert grouped_pin(content.pin) not in manifest


def test_font_subsets_get_tags_unique_in_the_file(tmp_path: Path) -> None:
    with LetterPdfWriter(tmp_path / "batch.pdf", chunk_size=2) as writer:
        for content in batch(5):
            writer.add(content)
    reader = PdfReader(tmp_path / "batch.pdf", strict=True)
    subsets = {
        (str(font["/BaseFont"]), font["/FontDescriptor"].raw_get("/FontFile2").idnum)
        for page in reader.pages
        for font in all_fonts(page["/Resources"])
    }
    names = [name for name, _ in subsets]
    assert len(names) == len(set(names)) == 6  # 3 chunks x (regular, bold)


def export_that_fails(target: Path) -> None:
    with LetterPdfWriter(target) as writer:
        writer.add(letter())
        raise RuntimeError("export stopped")


def test_a_failed_batch_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="export stopped"):
        export_that_fails(tmp_path / "batch.pdf")
    assert list(tmp_path.iterdir()) == []


def test_manifest_cells_cannot_run_as_spreadsheet_formulas(tmp_path: Path) -> None:
    row = dataclasses.replace(ManifestRow.for_letter(letter(), 1), recipient="=HYPERLINK(1)")
    write_manifest(tmp_path / "m.csv", [row])
    assert "'=HYPERLINK(1)" in (tmp_path / "m.csv").read_text(encoding="utf-8")


def test_city_line_split() -> None:
    assert split_city_line("56812 Cochem") == ("56812", "Cochem")
    assert split_city_line("Cochem") == ("", "Cochem")
