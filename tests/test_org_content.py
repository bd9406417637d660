"""Founding-document uploads: PDF, PNG and JPEG only, decided by content, stored by streaming.

Every sample is a real file made here (reportlab, pypdf, Pillow) or crafted byte by byte where
the point is a file no well-behaved tool would write: a 50 000 x 50 000 PNG header, a PDF whose
cross-reference table lists more objects than any extract has.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import tracemalloc
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import BinaryIO

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from servicekonto.organisations.content import (
    MAX_PDF_OBJECTS,
    DocumentKind,
    Inspection,
    UnacceptableDocumentError,
    inspect_document,
)
from servicekonto.organisations.uploads import (
    CHUNK_SIZE,
    UploadRefusedError,
    sanitised_filename,
    store_upload,
)
from servicekonto.store.blobs import FileBlobStore, StoredBlob

MiB = 1024 * 1024
MASTER_KEY = b"k" * 32


# --- samples -------------------------------------------------------------------------------


def _pdf(pages: int = 1) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    for number in range(pages):
        canvas.drawString(72, 770, f"Handelsregisterauszug, Seite {number + 1}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _pdf_with_image(side: int) -> bytes:
    """A one-page PDF around an incompressible side x side RGB image (~3 * side² bytes)."""
    noise = Image.frombytes("RGB", (side, side), os.urandom(3 * side * side))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    canvas.drawImage(ImageReader(noise), 0, 0, width=400, height=400)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _encrypted_pdf(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf())))
    writer.encrypt(user_password=user_password, owner_password="owner-secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _pdf_with_objects(count: int) -> bytes:
    """A valid one-page PDF whose xref table lists `count` objects (most of them `null`)."""
    head = b"%PDF-1.4\n"
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    bodies += [b"null"] * (count - len(bodies))
    out, offsets = bytearray(head), []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj %s endobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer << /Size %d /Root 1 0 R >>\n" % (len(bodies) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def _image(kind: str, size: tuple[int, int] = (64, 48), *, noise: bool = False) -> bytes:
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(3 * size[0] * size[1]))
    else:
        image = Image.new("RGB", size, (200, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(width: int, height: int) -> bytes:
    """A well-formed PNG declaring width x height RGB pixels, with a few bytes of pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _inspect(data: bytes) -> Inspection:
    return inspect_document(io.BytesIO(data))


def _refusal(data: bytes) -> str:
    with pytest.raises(UnacceptableDocumentError) as caught:
        _inspect(data)
    return caught.value.reason


# --- accepted documents --------------------------------------------------------------------


def test_a_pdf_is_accepted_with_its_page_count() -> None:
    assert _inspect(_pdf(pages=3)) == Inspection(DocumentKind.PDF, pages=3, width=None, height=None)


@pytest.mark.parametrize(
    ("format_name", "kind"), [("PNG", DocumentKind.PNG), ("JPEG", DocumentKind.JPEG)]
)
def test_an_image_is_accepted_with_its_dimensions(format_name: str, kind: DocumentKind) -> None:
    inspection = _inspect(_image(format_name, (64, 48)))

    assert inspection == Inspection(kind, pages=None, width=64, height=48)


def test_five_hundred_pages_are_still_accepted() -> None:
    assert _inspect(_pdf(pages=500)).pages == 500


@pytest.mark.parametrize("data", [_pdf(), _image("PNG"), b"MZ\x90\x00"], ids=["pdf", "png", "exe"])
def test_the_stream_is_left_at_the_start_whatever_the_outcome(data: bytes) -> None:
    stream = io.BytesIO(data)
    stream.seek(5)

    with contextlib.suppress(UnacceptableDocumentError):
        inspect_document(stream)

    assert stream.tell() == 0
    assert not stream.closed


# --- refused by type -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"
        + b"\x00" * 200
        + b"This program cannot be run in DOS",
        b"<!DOCTYPE html><html><body>%PDF-1.7</body></html>",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 100,
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"\x00" + _pdf(),  # the header must come first, not somewhere inside
        b"",
    ],
    ids=["windows-executable", "html", "zip", "gif", "shifted-pdf", "empty"],
)
def test_anything_but_pdf_png_and_jpeg_is_refused_by_its_bytes(data: bytes) -> None:
    assert _refusal(data) == "unsupported_type"


# --- refused PDFs --------------------------------------------------------------------------


def test_garbage_after_the_pdf_header_is_unreadable() -> None:
    assert _refusal(b"%PDF-1.7\n" + os.urandom(4096)) == "unreadable"


def test_a_truncated_pdf_is_unreadable() -> None:
    data = _pdf()

    assert _refusal(data[: len(data) // 3]) == "unreadable"


@pytest.mark.parametrize("user_password", ["secret", ""], ids=["user-password", "owner-only"])
def test_an_encrypted_pdf_is_refused(user_password: str) -> None:
    # Even with an empty user password (opens without asking) the content is encrypted, and
    # the registration office's tools must be able to read what was checked.
    assert _refusal(_encrypted_pdf(user_password)) == "encrypted_pdf"


def test_more_than_five_hundred_pages_are_refused() -> None:
    assert _refusal(_pdf(pages=600)) == "too_many_pages"


def test_a_pdf_without_pages_is_refused() -> None:
    writer, buffer = PdfWriter(), io.BytesIO()
    writer.write(buffer)

    assert _refusal(buffer.getvalue()) == "too_many_pages"


def test_a_page_tree_that_claims_a_million_pages_is_refused_without_walking_it() -> None:
    data = _pdf().replace(b"/Count 1", b"/Count 1000000")

    assert _refusal(data) == "too_many_pages"


def test_a_structure_bomb_with_too_many_objects_is_refused() -> None:
    assert _inspect(_pdf_with_objects(1_000)).pages == 1  # the crafted file itself is sound

    with pytest.raises(UnacceptableDocumentError) as caught:
        _inspect(_pdf_with_objects(MAX_PDF_OBJECTS + 1))

    assert caught.value.reason == "unreadable"
    assert caught.value.__cause__ is None  # our cap refused it, not a parser failure


def test_a_pdf_refusal_message_carries_no_document_content() -> None:
    data = b"%PDF-1.7\n1 0 obj (Geheime Firma GmbH) endobj\n"
    with pytest.raises(UnacceptableDocumentError) as caught:
        _inspect(data)

    assert "Geheime" not in str(caught.value)


# --- refused images ------------------------------------------------------------------------


def test_huge_declared_dimensions_are_refused_before_decoding() -> None:
    bomb = _png_header_only(50_000, 50_000)  # 2.5 gigapixels, 7.5 GB decoded, ~100 bytes here
    tracemalloc.start()
    try:
        reason = _refusal(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert reason == "image_too_large"
    assert len(bomb) < 200
    assert peak < 20 * MiB


@pytest.mark.parametrize(
    "size",
    [(8_000, 8_000), (25_000, 10), (10, 25_000)],
    ids=["64-megapixels", "too-wide", "too-tall"],
)
def test_our_own_limits_apply_below_pillows(size: tuple[int, int]) -> None:
    # 64 MP is under Pillow's own bomb threshold (~89 MP): only our 40 MP cap stops it.
    tracemalloc.start()
    try:
        reason = _refusal(_png_header_only(*size))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert reason == "image_too_large"
    assert peak < 20 * MiB


@pytest.mark.parametrize("format_name", ["PNG", "JPEG"])
def test_a_truncated_image_is_unreadable(format_name: str) -> None:
    data = _image(format_name, (256, 256), noise=True)

    assert _refusal(data[: len(data) // 2]) == "unreadable"


def test_a_png_with_a_damaged_chunk_is_unreadable() -> None:
    data = bytearray(_image("PNG", (128, 128), noise=True))
    data[len(data) // 2] ^= 0xFF  # inside the pixel data: the chunk's CRC no longer matches

    assert _refusal(bytes(data)) == "unreadable"


def test_a_header_only_jpeg_is_unreadable() -> None:
    data = _image("JPEG", (256, 256), noise=True)
    start_of_scan = data.index(b"\xff\xda")

    assert _refusal(data[: start_of_scan + 20]) == "unreadable"


# --- storing uploads -----------------------------------------------------------------------


def _blob_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def blobs(root: Path) -> FileBlobStore:
    return FileBlobStore(root, MASTER_KEY)


@pytest.fixture
def spooled() -> Iterator[Callable[[bytes], BinaryIO]]:
    """What Starlette's UploadFile.file is: in memory up to 1 MB, then a temporary file."""
    with contextlib.ExitStack() as files:

        def make(data: bytes) -> BinaryIO:
            spool = files.enter_context(SpooledTemporaryFile(max_size=MiB))
            spool.write(data)
            spool.seek(0)
            return spool  # type: ignore[return-value]

        yield make


def test_an_upload_is_checked_and_stored_encrypted(
    blobs: FileBlobStore, root: Path, spooled: Callable[[bytes], BinaryIO]
) -> None:
    data = _pdf(pages=2)

    stored = store_upload(spooled(data), "HR-Auszug.pdf", blobs, max_bytes=MiB, remaining_total=MiB)

    assert stored.inspection.pages == 2
    assert stored.filename == "HR-Auszug.pdf"
    assert stored.blob.size == len(data)
    assert b"".join(blobs.read(stored.blob.blob_id)) == data
    assert data[:64] not in _blob_files(root)[0].read_bytes()  # encrypted at rest


def test_the_client_supplied_name_does_not_decide_the_type(blobs: FileBlobStore) -> None:
    stored = store_upload(
        io.BytesIO(_image("PNG")), "antrag.pdf", blobs, max_bytes=MiB, remaining_total=MiB
    )

    assert stored.inspection.kind is DocumentKind.PNG


def test_a_large_upload_goes_through_in_chunks_without_being_held(
    blobs: FileBlobStore, spooled: Callable[[bytes], BinaryIO]
) -> None:
    data = _pdf_with_image(1_500)  # ~6.7 MB
    stream = spooled(data)
    tracemalloc.start()
    try:
        stored = store_upload(
            stream, "scan.pdf", blobs, max_bytes=16 * MiB, remaining_total=16 * MiB
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stored.blob.size == len(data) > 6 * MiB
    assert peak < 2 * MiB


@pytest.mark.parametrize(
    ("max_bytes", "remaining_total", "reason"),
    [(1_000, MiB, "too_large"), (MiB, 1_000, "total_too_large")],
)
def test_an_upload_over_a_limit_stores_nothing(
    blobs: FileBlobStore, root: Path, max_bytes: int, remaining_total: int, reason: str
) -> None:
    with pytest.raises(UploadRefusedError) as caught:
        store_upload(
            io.BytesIO(_pdf()), "a.pdf", blobs, max_bytes=max_bytes, remaining_total=remaining_total
        )

    assert caught.value.reason == reason
    assert _blob_files(root) == []


def test_a_refused_document_stores_nothing(blobs: FileBlobStore, root: Path) -> None:
    exe = b"MZ\x90\x00" + b"\x00" * 1000

    with pytest.raises(UploadRefusedError) as caught:
        store_upload(io.BytesIO(exe), "auszug.pdf", blobs, max_bytes=MiB, remaining_total=MiB)

    assert caught.value.reason == "unsupported_type"
    assert _blob_files(root) == []


class _BreaksInTheMiddle(io.BytesIO):
    """Raises OSError for any read that touches the middle of the file, like a failing disk.

    The content check never reads there (pypdf reads the trailer, xref and the page objects, not
    the image stream in between), so the failure hits the copy into the blob store.
    """

    def read(self, size: int | None = -1, /) -> bytes:
        start = self.tell()
        end = len(self.getbuffer()) if size is None or size < 0 else start + size
        middle = len(self.getbuffer()) // 2
        if start <= middle < end:
            raise OSError("simulated I/O error")
        return super().read(size)


def test_an_upload_failing_midway_leaves_no_blob(blobs: FileBlobStore, root: Path) -> None:
    data = _pdf_with_image(300)
    assert len(data) > 4 * CHUNK_SIZE  # the failure comes after some chunks were written

    with pytest.raises(OSError, match="simulated"):
        store_upload(_BreaksInTheMiddle(data), "a.pdf", blobs, max_bytes=MiB, remaining_total=MiB)

    assert _blob_files(root) == []


class _ChangesTheFileFirst:
    """A blob store that lets the upload change between the check and the copy."""

    def __init__(self, inner: FileBlobStore, stream: io.BytesIO, *, grow: bool) -> None:
        self.inner, self.stream, self.grow = inner, stream, grow

    def write(self, chunks: Iterable[bytes], *, max_bytes: int) -> StoredBlob:
        size = len(self.stream.getbuffer())
        if self.grow:
            self.stream.seek(0, os.SEEK_END)
            self.stream.write(b"\x00" * 10)
        else:
            self.stream.truncate(size // 2)
        return self.inner.write(chunks, max_bytes=max_bytes)

    def read(self, blob_id: str) -> Iterator[bytes]:
        return self.inner.read(blob_id)

    def delete(self, blob_id: str) -> None:
        self.inner.delete(blob_id)

    def exists(self, blob_id: str) -> bool:
        return self.inner.exists(blob_id)


@pytest.mark.parametrize(("grow", "reason"), [(True, "too_large"), (False, "unreadable")])
def test_a_file_changed_after_its_check_is_not_kept(
    blobs: FileBlobStore, root: Path, grow: bool, reason: str
) -> None:
    # Grown: the store stops at the measured size. Shrunk: the blob is written whole, found
    # not to be the inspected file, and deleted again.
    stream = io.BytesIO(_image("PNG", (128, 128), noise=True))
    changing = _ChangesTheFileFirst(blobs, stream, grow=grow)

    with pytest.raises(UploadRefusedError) as caught:
        store_upload(stream, "a.png", changing, max_bytes=MiB, remaining_total=MiB)

    assert caught.value.reason == reason
    assert _blob_files(root) == []


# --- display names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Gewerbeanmeldung Müller & Söhne.pdf", "Gewerbeanmeldung Müller Söhne.pdf"),
        ("C:\\Users\\anna\\Vereinsregister.pdf", "Vereinsregister.pdf"),
        ("../../etc/passwd", "passwd"),
        ("Bu\u0308ro.pdf", "Büro.pdf"),  # decomposed umlaut as macOS sends it
        ("rechnung\u202efdp.exe", "rechnungfdp.exe"),  # right-to-left override removed
        ("a\x00b\r\nc<script>.pdf", "abcscript.pdf"),
        ("..pdf", "pdf"),
        ("", "dokument"),
        ("///", "dokument"),
        ("<>|*?", "dokument"),
        ("  viele    Leerzeichen  .pdf ", "viele Leerzeichen .pdf"),
    ],
)
def test_display_names_are_sanitised(name: str, expected: str) -> None:
    assert sanitised_filename(name) == expected


def test_long_display_names_keep_their_extension() -> None:
    name = sanitised_filename("Handelsregister" * 20 + ".pdf")

    assert len(name) == 120
    assert name.startswith("Handelsregister")
    assert name.endswith(".pdf")
