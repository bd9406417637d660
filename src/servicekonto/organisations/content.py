"""Is an upload a founding document we accept? PDF, PNG or JPEG, decided by content only.

The type comes from the magic bytes, never from the file name or the client's Content-Type,
which an uploader controls. The file is then parsed just far enough to know it is what it
claims to be, and refused before any step whose cost the uploader could blow up:

- PDF: pypdf reads the cross-reference table and the page tree; content streams are never
  decompressed. Encrypted files are refused (staff could not open them, and we could not check
  them), as are more pages or objects than any register extract has.
- PNG/JPEG: Pillow reads the header only; the pixel count is checked before anything is
  decoded (a decompression bomb is a few KB that decodes to gigabytes).

Error messages name the rule, never the document's content, so they are safe to show and log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, BinaryIO, ClassVar

from servicekonto.errors import ServicekontoError

if TYPE_CHECKING:
    from pypdf import PdfReader

MAX_PAGES = 500  # a register extract has a few pages; hundreds mean a generated file
# A structure bomb: a small file whose cross-reference section declares millions of objects,
# so walking the page tree or resolving references costs far more than the upload size
# suggests. Real extracts hold hundreds of objects, long scans thousands; 100 000 is ample.
MAX_PDF_OBJECTS = 100_000
MAX_IMAGE_PIXELS = 40_000_000  # a 600 dpi A4 scan is ~35 MP
MAX_IMAGE_SIDE = 20_000
# JPEG decodes at 1/8 scale per side (DCT scaling): every byte of the coded data is still
# checked, for 1/64 of the memory, so the largest accepted scan decodes in ~2 MB.
_JPEG_DRAFT_SCALE = 8

_PDF_MAGIC = b"%PDF-"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_SNIFF_BYTES = 8


class DocumentKind(StrEnum):
    PDF = "application/pdf"
    PNG = "image/png"
    JPEG = "image/jpeg"


@dataclass(frozen=True)
class Inspection:
    kind: DocumentKind
    pages: int | None  # PDF only
    width: int | None  # images only, in pixels
    height: int | None


class UnacceptableDocumentError(ServicekontoError):
    """The upload is not a document we accept; `reason` is a stable, public code."""

    MESSAGES: ClassVar[dict[str, str]] = {
        "unsupported_type": "only PDF, PNG and JPEG documents are accepted",
        "unreadable": "the document is damaged or not what its type claims",
        "too_many_pages": f"the document has no pages or more than {MAX_PAGES}",
        "image_too_large": "the image has too many pixels",
        "encrypted_pdf": "the PDF is encrypted or password-protected",
    }

    def __init__(self, reason: str) -> None:
        if reason not in self.MESSAGES:
            raise ValueError(f"unknown reason {reason!r}")
        self.reason = reason
        super().__init__(self.MESSAGES[reason])


def inspect_document(stream: BinaryIO) -> Inspection:
    """Decide the kind by magic bytes and check the document; the stream ends at position 0."""
    stream.seek(0)
    try:
        kind = _sniff(stream.read(_SNIFF_BYTES))
        stream.seek(0)
        return _INSPECTORS[kind](stream)
    finally:
        stream.seek(0)


def _sniff(head: bytes) -> DocumentKind:
    # An .exe ("MZ"), HTML or ZIP renamed to .pdf ends here, whatever the client claimed.
    for magic, kind in (
        (_PDF_MAGIC, DocumentKind.PDF),
        (_PNG_MAGIC, DocumentKind.PNG),
        (_JPEG_MAGIC, DocumentKind.JPEG),
    ):
        if head.startswith(magic):
            return kind
    raise UnacceptableDocumentError("unsupported_type")


@contextmanager
def _parser_guard() -> Iterator[None]:
    """Any failure inside a third-party parser means an unreadable document.

    Broad on purpose: malformed input makes parsers raise anything from KeyError to
    RecursionError, and none of it may become a 500. Our own refusals pass through.
    """
    try:
        yield
    except UnacceptableDocumentError:
        raise
    except MemoryError:
        raise  # the process is in trouble, not the document: let it surface
    except Exception as exc:
        raise UnacceptableDocumentError("unreadable") from exc


# --- PDF -----------------------------------------------------------------------------------


def _inspect_pdf(stream: BinaryIO) -> Inspection:
    # pypdf logs recovery warnings that quote object data; keep document content out of logs.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    # The parsers are imported on the first upload, not by every worker at start (~10 MiB).
    from pypdf import PdfReader  # noqa: PLC0415 - lazy, see above

    with _parser_guard():
        reader = PdfReader(stream, strict=False)
        if reader.is_encrypted:
            raise UnacceptableDocumentError("encrypted_pdf")
        _check_object_count(reader)
        pages = _count_pages(reader)
    if not 1 <= pages <= MAX_PAGES:
        raise UnacceptableDocumentError("too_many_pages")
    return Inspection(kind=DocumentKind.PDF, pages=pages, width=None, height=None)


def _check_object_count(reader: PdfReader) -> None:
    # Checked before the page tree is walked: that walk is what a structure bomb makes slow.
    # Both the entries actually listed and the /Size the trailer declares count.
    listed = sum(len(entries) for entries in reader.xref.values()) + len(reader.xref_objStm)
    declared = reader.trailer.get("/Size", 0)
    declared = declared if isinstance(declared, int) else 0
    if max(listed, declared) > MAX_PDF_OBJECTS:
        raise UnacceptableDocumentError("unreadable")


def _count_pages(reader: PdfReader) -> int:
    # The declared /Count first, so a tree claiming a million pages is refused without walking
    # it; then the real walk (bounded by the object cap), which proves the page tree is sound.
    from pypdf.generic import DictionaryObject  # noqa: PLC0415 - lazy, see above

    tree = reader.root_object["/Pages"].get_object()
    declared = tree.get("/Count", 0) if isinstance(tree, DictionaryObject) else 0
    if isinstance(declared, int) and declared > MAX_PAGES:
        return declared
    return len(reader.pages)


# --- Images --------------------------------------------------------------------------------


def _inspect_png(stream: BinaryIO) -> Inspection:
    return _inspect_image(stream, DocumentKind.PNG)


def _inspect_jpeg(stream: BinaryIO) -> Inspection:
    return _inspect_image(stream, DocumentKind.JPEG)


def _inspect_image(stream: BinaryIO, kind: DocumentKind) -> Inspection:
    with _parser_guard():
        width, height = _image_size(stream, kind)
        # Refused here, before a single pixel is decoded.
        if width * height > MAX_IMAGE_PIXELS or max(width, height) > MAX_IMAGE_SIDE:
            raise UnacceptableDocumentError("image_too_large")
        stream.seek(0)
        _verify_image(stream, kind)
    return Inspection(kind=kind, pages=None, width=width, height=height)


def _image_size(stream: BinaryIO, kind: DocumentKind) -> tuple[int, int]:
    # Image.open reads the header only. Pillow's own guard (Image.MAX_IMAGE_PIXELS) is left at
    # its default on purpose: it is process-wide and the letter renderer shares it. It raises
    # at open above twice its limit and warns above it; ours is stricter, so either means "too
    # large" (the warning arrives as an exception where warnings are errors, as in the tests).
    from PIL import Image  # noqa: PLC0415 - see _inspect_pdf

    try:
        with Image.open(stream, formats=[_pillow_format(kind)]) as image:
            return image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnacceptableDocumentError("image_too_large") from None


def _verify_image(stream: BinaryIO, kind: DocumentKind) -> None:
    from PIL import Image  # noqa: PLC0415 - see _inspect_pdf

    with Image.open(stream, formats=[_pillow_format(kind)]) as image:
        if kind is DocumentKind.JPEG:
            # Pillow's verify() does nothing for JPEG; a reduced decode (DCT scaling, 1/8 per
            # side) reads all the entropy-coded data and raises on a truncated or corrupt file
            # (ImageFile.LOAD_TRUNCATED_IMAGES stays off).
            scaled = (
                max(1, image.width // _JPEG_DRAFT_SCALE),
                max(1, image.height // _JPEG_DRAFT_SCALE),
            )
            image.draft(image.mode, scaled)
            image.load()
        else:
            # PNG: walks every chunk to IEND checking CRCs, without inflating the pixel data.
            image.verify()


def _pillow_format(kind: DocumentKind) -> str:
    # Only the plugin the magic bytes chose: Image.open would otherwise try every format
    # Pillow knows, and each parser is attack surface.
    return "PNG" if kind is DocumentKind.PNG else "JPEG"


_INSPECTORS: dict[DocumentKind, Callable[[BinaryIO], Inspection]] = {
    DocumentKind.PDF: _inspect_pdf,
    DocumentKind.PNG: _inspect_png,
    DocumentKind.JPEG: _inspect_jpeg,
}
