# reportlab ships no type information and no stub package is installed (types-reportlab).
# mypy: disable-error-code="import-untyped"
"""PIN letters as print-ready A4 PDFs, laid out after DIN 5008 form B for window envelopes.

All distances below are millimetres from the page's top-left corner, as DIN 5008 states them;
`_y` turns them into PDF points from the bottom. Fonts are Bitstream Vera (bundled with
reportlab) and are embedded as TrueType subsets: the 14 standard PDF fonts are not embedded, and
a print shop's RIP may substitute them. reportlab ships no monospaced TrueType font (only Type 1
Courier, which carries a standard-14 name), so the PIN is set in Vera Bold with wide letter
spacing and grouped in fours; the PIN alphabet itself avoids look-alike characters.

One letter: `render_letter`. A batch: `LetterPdfWriter`, whose memory stays flat in the batch
size (how, in its docstring).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
from array import array
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, NamedTuple, cast

import reportlab
import segno
from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    PdfObject,
)
from reportlab import rl_config
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from servicekonto.observability import get_logger
from servicekonto.pinletters.letter import (
    LetterContent,
    german_date,
    grouped_pin,
    letter_text,
    postal_latin,
    unprintable,
)

PAGE_WIDTH, PAGE_HEIGHT = A4  # 595.28 x 841.89 pt = 210 x 297 mm

# DIN 5008 form B (mm from the top-left corner of the sheet).
TEXT_LEFT = 25.0  # left margin of all text: 25 mm
TEXT_WIDTH = 210.0 - 25.0 - 20.0  # right margin at least 20 mm
FIELD_LEFT, FIELD_TOP, FIELD_WIDTH, FIELD_HEIGHT = 20.0, 45.0, 85.0, 45.0  # Anschriftfeld
RETURN_ZONE_HEIGHT = 5.0  # Rücksendeangabe: top 5 mm of the field
# At 7 pt on a baseline 3.5 mm down, ascenders and the underline stay inside those 5 mm.
RETURN_ZONE_BASELINE = RETURN_ZONE_HEIGHT - 1.5
NOTE_ZONE_HEIGHT = 17.7  # Zusatz- und Vermerkzone (5 lines incl. the return line)
ADDRESS_ZONE_HEIGHT = FIELD_HEIGHT - NOTE_ZONE_HEIGHT  # Anschriftzone: 27.3 mm, 6 lines
# Address text starts 5 mm inside the field (at the 25 mm text margin) and keeps 2 mm clear of
# its right edge; the DIN 680 window (90 x 45 mm from 20 mm) is wider than the field.
ADDRESS_LEFT, ADDRESS_RIGHT = 25.0, 103.0
INFO_LEFT, INFO_TOP = 125.0, 50.0  # Informationsblock, form B: 125 mm from left, 50 mm down
SUBJECT_TOP = FIELD_TOP + FIELD_HEIGHT + 2 * 4.23  # two blank lines after the field
FOLD_MARKS = (105.0, 210.0)  # Falzmarken, form B
HOLE_MARK = 148.5  # Lochmarke: half the sheet height
MARK_LEFT = 5.0  # marks start 5 mm in: most printers cannot print to the very edge

ADDRESS_SIZES = (10.0, 9.5, 9.0, 8.5, 8.0)  # pt; 10 pt at 12 pt leading is DIN's 4.23 mm
RETURN_SIZES = (7.0, 6.5, 6.0)  # pt; small, so sorting machines do not read it as recipient
BODY_SIZE, BODY_LEADING = 10.0, 13.0
PIN_SIZE, PIN_CHAR_SPACE = 24.0, 4.0
QR_SIZE = 28.0  # mm; 29 modules ≈ 1 mm each, comfortably scanned by a phone

GREY = Color(0.45, 0.45, 0.45)
log = get_logger("servicekonto.pinletters")
_FONT_DIR = Path(reportlab.__file__).parent / "fonts"


class Fonts(NamedTuple):
    regular: str
    bold: str


class AddressDoesNotFitError(ValueError):
    """The address cannot be set inside the window even at the smallest size and wrapped."""


@cache
def fonts() -> Fonts:
    """Register the embedded TrueType fonts once per process (reportlab's registry is global).

    Also switches off reportlab's ASCII85 wrapping of compressed streams, process-wide: it makes
    every page stream a quarter larger and costs about 2 ms per page in pure Python.
    """
    rl_config.useA85 = 0
    for name, file in (("SKVera", "Vera.ttf"), ("SKVeraBold", "VeraBd.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(_FONT_DIR / file)))
    return Fonts("SKVera", "SKVeraBold")


@cache
def _covered() -> frozenset[int]:
    """Code points both fonts have a glyph for."""
    regular, bold = (pdfmetrics.getFont(name) for name in fonts())
    return frozenset(regular.face.charToGlyph) & frozenset(bold.face.charToGlyph)


def has_glyph(char: str) -> bool:
    return ord(char) in _covered()


def unprintable_characters(content: LetterContent) -> str:
    """Characters of the address that would print as "?"; such letters need a human look."""
    return unprintable("".join(content.address_lines()), has_glyph)


def printable(content: LetterContent) -> LetterContent:
    """`content` with every text field mapped to Latin script the fonts can show."""
    changes: dict[str, Any] = {
        field.name: postal_latin(getattr(content, field.name), has_glyph)
        for field in dataclasses.fields(content)
        if isinstance(getattr(content, field.name), str)
    }
    lines = tuple(postal_latin(line, has_glyph) for line in content.recipient_lines)
    return dataclasses.replace(content, recipient_lines=lines, **changes)


# --- address field -------------------------------------------------------------------------


class AddressBlock(NamedTuple):
    size: float
    lines: tuple[str, ...]

    @property
    def leading(self) -> float:
        return self.size * 1.2


def fit_address(lines: tuple[str, ...]) -> AddressBlock:
    """Shrink the font down to 8 pt; if a line is still too wide, wrap it; never overflow."""
    for size in ADDRESS_SIZES:
        if _fits(AddressBlock(size, lines)):
            return AddressBlock(size, lines)
    smallest = ADDRESS_SIZES[-1]
    width = (ADDRESS_RIGHT - ADDRESS_LEFT) * mm
    wrapped = tuple(part for line in lines for part in wrap_line(line, smallest, width))
    if _fits(AddressBlock(smallest, wrapped)):
        return AddressBlock(smallest, wrapped)
    raise AddressDoesNotFitError(f"{len(wrapped)} lines do not fit the Anschriftzone")


def _fits(block: AddressBlock) -> bool:
    width = (ADDRESS_RIGHT - ADDRESS_LEFT) * mm
    tall_enough = len(block.lines) * block.leading <= ADDRESS_ZONE_HEIGHT * mm
    return tall_enough and all(_width(line, block.size) <= width for line in block.lines)


def wrap_line(text: str, size: float, width: float) -> list[str]:
    """Break after spaces and hyphens; a single word wider than the field is cut by letters."""
    lines: list[str] = [""]
    for token in re.split(r"(?<=[\s-])", text):
        for piece in _cut(token, size, width):
            if lines[-1] and _width(lines[-1] + piece.rstrip(), size) > width:
                lines.append("")
            lines[-1] += piece
    return [line.strip() for line in lines if line.strip()]


def _cut(token: str, size: float, width: float) -> Iterator[str]:
    piece = ""
    for char in token:
        if piece and _width(piece + char, size) > width:
            yield piece
            piece = ""
        piece += char
    yield piece


def _width(text: str, size: float, font: str | None = None) -> float:
    return float(pdfmetrics.stringWidth(text, font or fonts().regular, size))


def _y(top_mm: float) -> float:
    """A distance from the top edge in mm as a PDF y coordinate in points."""
    return float(PAGE_HEIGHT - top_mm * mm)


def _draw_address_field(canvas: Canvas, content: LetterContent, block: AddressBlock) -> None:
    _draw_return_address(canvas, content.return_address())
    canvas.setFont(fonts().regular, block.size)
    baseline = _y(FIELD_TOP + NOTE_ZONE_HEIGHT) - block.size  # first line's cap under the zone
    for index, line in enumerate(block.lines):
        canvas.drawString(ADDRESS_LEFT * mm, baseline - index * block.leading, line)


def _draw_return_address(canvas: Canvas, text: str) -> None:
    width = (ADDRESS_RIGHT - ADDRESS_LEFT) * mm
    size = next((s for s in RETURN_SIZES if _width(text, s) <= width), RETURN_SIZES[-1])
    while _width(text, size) > width:  # a sender line this long is a configuration slip
        text = text[:-2] + "…"
    baseline = _y(FIELD_TOP + RETURN_ZONE_BASELINE)
    canvas.setFont(fonts().regular, size)
    canvas.drawString(ADDRESS_LEFT * mm, baseline, text)
    canvas.setLineWidth(0.3)
    canvas.line(
        ADDRESS_LEFT * mm, baseline - 1.2, ADDRESS_LEFT * mm + _width(text, size), baseline - 1.2
    )


# --- the rest of the page -----------------------------------------------------------------


def _draw_marks(canvas: Canvas) -> None:
    """Fold marks at 105 and 210 mm and the hole mark at 148.5 mm (DIN 5008 form B)."""
    canvas.setStrokeColor(GREY)
    canvas.setLineWidth(0.3)
    for top, length in ((FOLD_MARKS[0], 4.0), (HOLE_MARK, 7.0), (FOLD_MARKS[1], 4.0)):
        canvas.line(MARK_LEFT * mm, _y(top), (MARK_LEFT + length) * mm, _y(top))
    canvas.setStrokeColor(Color(0, 0, 0))


def _draw_letterhead(canvas: Canvas, content: LetterContent) -> None:
    """Sender in the 45 mm letterhead zone of form B, above the address field."""
    name, bold = content.sender_name, fonts().bold
    size = next((s for s in (14.0, 12.0) if _width(name, s, bold) <= TEXT_WIDTH * mm), 10.0)
    top = 20.0
    canvas.setFont(bold, size)
    for line in _wrapped(name, bold, size, TEXT_WIDTH)[:2]:  # 2 lines at most: the zone ends
        canvas.drawString(TEXT_LEFT * mm, _y(top), line)
        top += size * 1.25 / mm
    canvas.setFont(fonts().regular, 9)
    canvas.drawString(TEXT_LEFT * mm, _y(top + 1.0), content.sender_address)
    canvas.drawString(TEXT_LEFT * mm, _y(top + 5.5), "ServiceKonto")


def _draw_info_block(canvas: Canvas, content: LetterContent) -> None:
    """Informationsblock: label over value, from 50 mm down at 125 mm from the left."""
    entries = (
        (letter_text("pin_letter.info.letter_number"), content.letter_number),
        (letter_text("pin_letter.info.date"), german_date(content.issued_on)),
        (letter_text("pin_letter.info.valid_until"), german_date(content.valid_until)),
    )
    for index, (label, value) in enumerate(entries):
        top = INFO_TOP + index * 10.0
        canvas.setFont(fonts().regular, 7.5)
        canvas.drawString(INFO_LEFT * mm, _y(top + 3.0), label)
        canvas.setFont(fonts().regular, 10)
        canvas.drawString(INFO_LEFT * mm, _y(top + 7.0), value)


@lru_cache(maxsize=256)
def _wrapped(text: str, font: str, size: float, width_mm: float) -> tuple[str, ...]:
    """Paragraph lines; cached because a batch repeats the same sentences."""
    return tuple(simpleSplit(text, font, size, width_mm * mm))


def _paragraph(
    canvas: Canvas, text: str, top: float, *, bold: bool = False, width: float = TEXT_WIDTH
) -> float:
    """Set `text` from `top` (mm, baseline of the first line); returns the next free top."""
    font = fonts().bold if bold else fonts().regular
    canvas.setFont(font, BODY_SIZE)
    lines = _wrapped(text, font, BODY_SIZE, width)
    for index, line in enumerate(lines):
        canvas.drawString(TEXT_LEFT * mm, _y(top) - index * BODY_LEADING, line)
    return top + float(len(lines) * BODY_LEADING / mm) + 2.5


def _draw_pin_box(canvas: Canvas, content: LetterContent, top: float) -> float:
    """The PIN, large and grouped, in a framed box with its expiry date under it."""
    canvas.setStrokeColor(GREY)
    canvas.setLineWidth(0.8)
    canvas.roundRect(TEXT_LEFT * mm, _y(top + 27.0), 110 * mm, 27 * mm, 2 * mm)
    canvas.setFont(fonts().regular, 9)
    canvas.drawString((TEXT_LEFT + 5) * mm, _y(top + 6.0), letter_text("pin_letter.pin_label"))
    canvas.setFont(fonts().bold, PIN_SIZE)
    pin = grouped_pin(content.pin)
    canvas.drawString((TEXT_LEFT + 5) * mm, _y(top + 16.0), pin, charSpace=PIN_CHAR_SPACE)
    canvas.setFont(fonts().regular, 9)
    until = letter_text("pin_letter.valid_until", date=german_date(content.valid_until))
    canvas.drawString((TEXT_LEFT + 5) * mm, _y(top + 23.0), until)
    return top + 27.0 + 7.0


@lru_cache(maxsize=16)
def qr_runs(url: str) -> tuple[tuple[int, int, int], ...]:
    """Dark modules of the QR code for `url` as (row, first column, length) runs."""
    matrix = segno.make(url, error="m", micro=False).matrix
    runs: list[tuple[int, int, int]] = []
    for row, modules in enumerate(matrix):
        for match in re.finditer(rb"\x01+", bytes(modules)):
            runs.append((row, match.start(), match.end() - match.start()))
    return tuple(runs)


def _define_qr(canvas: Canvas, url: str) -> str:
    """The QR code for `url` as a form XObject: drawn once per file, placed on every page.

    reportlab sets the page drawn so far aside while the form is recorded. Dark modules are
    filled vector rectangles, one per horizontal run of modules; no raster image.
    """
    name = "qr" + hashlib.sha256(url.encode()).hexdigest()[:16]
    if canvas.hasForm(name):
        return name
    runs = qr_runs(url)
    cell = QR_SIZE * mm / (max(row for row, _, _ in runs) + 1)
    canvas.beginForm(name, 0, 0, QR_SIZE * mm, QR_SIZE * mm)
    path = canvas.beginPath()
    for row, column, length in runs:
        path.rect(column * cell, QR_SIZE * mm - (row + 1) * cell, length * cell, cell)
    canvas.setFillColor(Color(0, 0, 0))
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.endForm()
    return name


def _place_form(canvas: Canvas, name: str, left: float, top: float, size: float) -> None:
    canvas.saveState()
    canvas.translate(left * mm, _y(top + size))
    canvas.doForm(name)
    canvas.restoreState()


def _draw_body(canvas: Canvas, content: LetterContent) -> None:
    top = _paragraph(canvas, letter_text("pin_letter.subject"), SUBJECT_TOP + 3.5, bold=True)
    top = _paragraph(canvas, content.salutation, top + 4.0)
    top = _paragraph(canvas, letter_text("pin_letter.intro"), top + 2.0)
    top = _draw_pin_box(canvas, content, top + 1.0)
    top = _draw_steps(canvas, content, top)
    expiry = letter_text("pin_letter.expiry", date=german_date(content.valid_until))
    top = _paragraph(canvas, expiry, top)
    not_requested = letter_text(
        "pin_letter.not_requested",
        sender_name=content.sender_name,
        sender_address=content.sender_address,
        letter_number=content.letter_number,
    )
    top = _paragraph(canvas, not_requested, top)
    _draw_closing(canvas, content, top + 4.0)


def _draw_steps(canvas: Canvas, content: LetterContent, top: float) -> float:
    """How to enter the PIN, with the QR code for the entry page to the right."""
    qr = _define_qr(canvas, content.pin_entry_url)
    _place_form(canvas, qr, TEXT_LEFT + TEXT_WIDTH - QR_SIZE, top - 4.0, QR_SIZE)
    bottom = top + QR_SIZE + 1.0
    top = _paragraph(canvas, letter_text("pin_letter.steps_title"), top, bold=True)
    steps = (
        letter_text("pin_letter.step_login"),
        letter_text("pin_letter.step_open", url=content.pin_entry_url),
        letter_text("pin_letter.step_enter"),
    )
    for step in steps:
        top = _paragraph(canvas, step, top, width=TEXT_WIDTH - QR_SIZE - 10.0) - 1.5
    return max(top, bottom) + 3.0


def _draw_closing(canvas: Canvas, content: LetterContent, top: float) -> None:
    top = _paragraph(canvas, letter_text("pin_letter.closing"), top)
    top = _paragraph(canvas, content.sender_name, top + 1.0)
    canvas.setFont(fonts().regular, 8)
    canvas.setFillColor(GREY)
    canvas.drawString(TEXT_LEFT * mm, _y(top + 2.0), letter_text("pin_letter.no_signature"))
    canvas.setFillColor(Color(0, 0, 0))


def draw_letter(canvas: Canvas, content: LetterContent) -> None:
    """Draw one letter onto the canvas's current page and finish the page.

    Raises `AddressDoesNotFitError` before anything is drawn, so the canvas stays usable.
    """
    missing = unprintable_characters(content)
    if missing:  # printed as "?": the letter may not reach the person; the name stays out
        log.warning(
            "pin_letter_unprintable", letter_number=content.letter_number, count=len(missing)
        )
    content = printable(content)
    address = fit_address(content.address_lines())
    _draw_marks(canvas)
    _draw_letterhead(canvas, content)
    _draw_address_field(canvas, content, address)
    _draw_info_block(canvas, content)
    _draw_body(canvas, content)
    canvas.showPage()


def new_canvas(target: BinaryIO) -> Canvas:
    """A reportlab canvas for letters: A4, compressed, reproducible, embedded fonts only."""
    canvas = Canvas(
        target, pagesize=A4, pageCompression=1, invariant=True, initialFontName=fonts().regular
    )
    canvas.setTitle("PIN-Brief")
    canvas.setCreator("servicekonto")
    return canvas


def render_letter(content: LetterContent) -> bytes:
    """One letter as a one-page PDF."""
    buffer = io.BytesIO()
    canvas = new_canvas(buffer)
    draw_letter(canvas, content)
    canvas.save()
    return buffer.getvalue()


# --- batches ------------------------------------------------------------------------------


class LetterPdfWriter:
    """Many letters into one PDF file, in memory that does not grow with the batch.

    reportlab's Canvas keeps every finished page (its operator list, not yet compressed) in
    `canvas._doc.Pages` until `save()`, so one canvas for 10,000 letters holds 10,000 pages.
    Instead the writer renders `chunk_size` letters into an in-memory PDF, copies that chunk's
    objects straight to the output file (`_PdfAppender`) and drops it. The price: every chunk
    embeds its own font subsets (some 40 kB per chunk). The file is written as `<name>.part` and
    renamed when complete, so the print shop never picks up half a batch.
    """

    def __init__(self, path: Path, *, chunk_size: int = 250) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        self._path = path
        self._partial = path.with_name(path.name + ".part")
        self._file = self._partial.open("wb")
        self._appender = _PdfAppender(self._file)
        self._chunk_size = chunk_size
        self._chunk: tuple[io.BytesIO, Canvas] | None = None
        self._in_chunk = 0
        self.page_count = 0

    def add(self, content: LetterContent) -> int:
        """Render one letter; returns its page number (1-based) in the final file."""
        if self._file.closed:
            raise ValueError("the writer is closed")
        if self._chunk is None:
            buffer = io.BytesIO()
            self._chunk = (buffer, new_canvas(buffer))
        draw_letter(self._chunk[1], content)
        self.page_count += 1
        self._in_chunk += 1
        if self._in_chunk == self._chunk_size:
            self._flush()
        return self.page_count

    def close(self) -> None:
        """Write the rest, finish the file and move it into place."""
        if self._file.closed:
            return
        try:
            self._flush()
            self._appender.finish()
            self._file.close()
        except BaseException:
            self.abort()
            raise
        os.replace(self._partial, self._path)

    def abort(self) -> None:
        """Drop the unfinished file."""
        self._file.close()
        self._partial.unlink(missing_ok=True)

    def _flush(self) -> None:
        if self._chunk is None:
            return
        buffer, canvas = self._chunk
        canvas.save()
        self._appender.append(buffer.getvalue())
        self._chunk, self._in_chunk = None, 0

    def __enter__(self) -> LetterPdfWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class _PdfAppender:
    """Writes one PDF object by object from whole PDFs appended to it; keeps only offsets.

    File structure after ISO 32000-1 §7.5: header, objects, cross-reference table, trailer.
    Object 1 (catalog) and 2 (root page tree node) are written last, when all kids are known.
    Each appended PDF's own page tree node becomes a kid of the root (§7.7.3.2 allows
    intermediate nodes), so no /Kids array grows beyond one entry per chunk. Every chunk brings
    its own font subsets, and reportlab names them alike (AAAAAA+...) in every chunk; §9.6.4
    wants different subsets in one file to have different tags, so they are renamed.
    """

    _CATALOG, _ROOT = 1, 2

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        # Byte offset by object number (0 is the free-list head): 8 bytes per object is all
        # that grows with the batch; the cross-reference table needs every one at the end.
        self._offsets = array("Q", [0, 0, 0])
        self._kids: list[int] = []
        self._count = 0
        self._tags: dict[str, str] = {}  # subset tag in the current chunk → tag in the file
        self._tag_count = 0
        out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # binary comment: the file is binary

    def append(self, pdf: bytes) -> None:
        reader = PdfReader(io.BytesIO(pdf))
        tree = reader.root_object.raw_get("/Pages")
        if not isinstance(tree, IndirectObject):
            raise ValueError("the page tree is not an indirect object")
        numbers: dict[int, int] = {}
        pending: list[IndirectObject] = []
        self._tags = {}
        node = self._renumber(tree, numbers, pending)
        self._kids.append(node.idnum)
        while pending:
            source = pending.pop()
            obj = self._remap(reader.get_object(source), numbers, pending)
            if numbers[source.idnum] == node.idnum and isinstance(obj, DictionaryObject):
                obj[NameObject("/Parent")] = IndirectObject(self._ROOT, 0, None)
                self._count += int(cast(NumberObject, obj["/Count"]))
            self._write(numbers[source.idnum], obj)

    def finish(self) -> None:
        kids = " ".join(f"{kid} 0 R" for kid in self._kids)
        self._write_raw(self._CATALOG, b"<< /Type /Catalog /Pages 2 0 R >>")
        tree = f"<< /Type /Pages /Kids [ {kids} ] /Count {self._count} >>"
        self._write_raw(self._ROOT, tree.encode())
        start = self._out.tell()
        self._out.write(f"xref\n0 {len(self._offsets)}\n0000000000 65535 f \n".encode())
        for offset in self._offsets[1:]:
            self._out.write(f"{offset:010d} 00000 n \n".encode())
        trailer = f"trailer\n<< /Size {len(self._offsets)} /Root 1 0 R >>\n"
        self._out.write(f"{trailer}startxref\n{start}\n%%EOF\n".encode())

    def _renumber(
        self, source: IndirectObject, numbers: dict[int, int], pending: list[IndirectObject]
    ) -> IndirectObject:
        if source.idnum not in numbers:
            numbers[source.idnum] = len(self._offsets)
            self._offsets.append(0)
            pending.append(source)
        return IndirectObject(numbers[source.idnum], 0, None)

    def _remap(
        self, obj: PdfObject | None, numbers: dict[int, int], pending: list[IndirectObject]
    ) -> PdfObject | None:
        """`obj` with every reference renumbered (in place: the reader is thrown away)."""
        if isinstance(obj, IndirectObject):
            return self._renumber(obj, numbers, pending)
        if isinstance(obj, DictionaryObject):  # streams too: only their dictionary refers
            for key, value in list(obj.items()):
                remapped = self._remap(value, numbers, pending)
                obj[key] = self._retag(remapped) if key in _FONT_NAME_KEYS else remapped
        elif isinstance(obj, ArrayObject):
            obj[:] = [self._remap(value, numbers, pending) for value in obj]
        return obj

    def _retag(self, name: PdfObject | None) -> PdfObject | None:
        """A font subset's name with a tag unique in the file (ISO 32000-1 §9.6.4)."""
        match = _SUBSET_TAG.match(str(name))
        if match is None:
            return name
        if match[1] not in self._tags:
            self._tags[match[1]] = _subset_tag(self._tag_count)
            self._tag_count += 1
        return NameObject("/" + self._tags[match[1]] + "+" + match[2])

    def _write(self, number: int, obj: PdfObject | None) -> None:
        self._offsets[number] = self._out.tell()
        self._out.write(b"%d 0 obj\n" % number)
        (NullObject() if obj is None else obj).write_to_stream(self._out)
        self._out.write(b"\nendobj\n")

    def _write_raw(self, number: int, body: bytes) -> None:
        self._offsets[number] = self._out.tell()
        self._out.write(b"%d 0 obj\n%b\nendobj\n" % (number, body))


_SUBSET_TAG = re.compile(r"^/([A-Z]{6})\+(.*)$")
_FONT_NAME_KEYS = ("/BaseFont", "/FontName")


def _subset_tag(number: int) -> str:
    """0 → AAAAAA, 1 → AAAAAB, ...: six upper-case letters, as §9.6.4 prescribes."""
    letters = []
    for _ in range(6):
        number, digit = divmod(number, 26)
        letters.append(chr(ord("A") + digit))
    return "".join(reversed(letters))
