"""Is an upload a PDF? Decided by content (magic bytes and a parse), never by name or header."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import BinaryIO

PDF_MAGIC = b"%PDF-"
CHUNK = 64 * 1024
MAX_PAGES = 2000  # a notice has a few pages; thousands mean a generated bomb, not a letter


def chunks_of(stream: BinaryIO) -> Iterator[bytes]:
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        yield chunk


def sha256_of(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in chunks_of(stream):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def size_of(stream: BinaryIO) -> int:
    size = stream.seek(0, 2)
    stream.seek(0)
    return size


def is_pdf(stream: BinaryIO) -> bool:
    """Starts like a PDF and pypdf can read its page tree."""
    stream.seek(0)
    if stream.read(len(PDF_MAGIC)) != PDF_MAGIC:
        return False
    stream.seek(0)
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings would echo document data
    # Imported on the first upload, not by every worker at start (pypdf: ~8 MiB).
    from pypdf import PdfReader  # noqa: PLC0415 - lazy, see above

    try:
        pages = len(PdfReader(stream, strict=False).pages)
    except Exception:
        return False
    finally:
        stream.seek(0)
    return 1 <= pages <= MAX_PAGES
