"""Store one founding-document upload: measured, checked, then streamed into the blob store.

The upload arrives as a spooled temporary file (Starlette's UploadFile.file). It is never read
into memory whole: its size comes from seeking to the end, the content check reads what the
parsers need, and the bytes go to the blob store in 64 KiB chunks. Every refusal happens
before a blob exists; anything that goes wrong after one was written deletes it again, so no
orphaned blob is left for nobody to account for.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

from servicekonto.errors import ServicekontoError
from servicekonto.organisations.content import (
    Inspection,
    UnacceptableDocumentError,
    inspect_document,
)
from servicekonto.store.blobs import BlobStore, BlobTooLargeError, StoredBlob

CHUNK_SIZE = 64 * 1024
MAX_FILENAME_LENGTH = 120
DEFAULT_FILENAME = "dokument"
_ALLOWED_PUNCTUATION = frozenset("._- ")


@dataclass(frozen=True)
class StoredUpload:
    blob: StoredBlob
    inspection: Inspection
    filename: str  # for display only; the blob id is the storage name


class UploadRefusedError(ServicekontoError):
    """The upload was not stored; `reason` is a stable, public code."""

    MESSAGES: ClassVar[dict[str, str]] = {
        "too_large": "the file is larger than allowed for one document",
        "total_too_large": "the file would exceed the space left for this application",
        **UnacceptableDocumentError.MESSAGES,
    }

    def __init__(self, reason: str) -> None:
        if reason not in self.MESSAGES:
            raise ValueError(f"unknown reason {reason!r}")
        self.reason = reason
        super().__init__(self.MESSAGES[reason])


def store_upload(
    stream: BinaryIO, filename: str, blobs: BlobStore, *, max_bytes: int, remaining_total: int
) -> StoredUpload:
    """Check and store one upload; raises UploadRefusedError with nothing stored."""
    size = _size_of(stream)
    _check_size(size, max_bytes=max_bytes, remaining_total=remaining_total)
    try:
        inspection = inspect_document(stream)
    except UnacceptableDocumentError as exc:
        raise UploadRefusedError(exc.reason) from exc
    blob = _write(stream, blobs, limit=size)
    try:
        return _finish(blob, size, inspection, filename)
    except BaseException:
        # BaseException: a cancelled worker must not leave a blob behind either.
        blobs.delete(blob.blob_id)
        raise


def sanitised_filename(name: str) -> str:
    """A display name without path, control or markup characters, at most 120 characters."""
    # NFC first: macOS sends "ä" as "a" plus a combining mark, which would be dropped below.
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # "C:\\Users\\x\\a.pdf", "../a.pdf"
    kept = "".join(char for char in name if _is_allowed(char))
    # Leading dots would hide the file or form ".."; trailing ones confuse Windows.
    kept = " ".join(kept.split()).strip(" .")
    return _shortened(kept) or DEFAULT_FILENAME


def _is_allowed(char: str) -> bool:
    # isalpha covers umlauts and ß; control and format characters (category C*, including
    # the right-to-left override that disguises "fdp.exe" as "exe.pdf") are not letters.
    return char.isalpha() or char in "0123456789" or char in _ALLOWED_PUNCTUATION


def _shortened(name: str) -> str:
    if len(name) <= MAX_FILENAME_LENGTH:
        return name
    stem, extension = os.path.splitext(name)
    if not 1 < len(extension) <= 10:
        return name[:MAX_FILENAME_LENGTH].rstrip(" .")
    return stem[: MAX_FILENAME_LENGTH - len(extension)].rstrip(" .") + extension


def _size_of(stream: BinaryIO) -> int:
    size = stream.seek(0, os.SEEK_END)
    stream.seek(0)
    return size


def _check_size(size: int, *, max_bytes: int, remaining_total: int) -> None:
    if size > max_bytes:
        raise UploadRefusedError("too_large")
    if size > remaining_total:
        raise UploadRefusedError("total_too_large")


def _write(stream: BinaryIO, blobs: BlobStore, *, limit: int) -> StoredBlob:
    # The measured size is the limit: a stream that grew after it was measured and checked is
    # not the file that was inspected, and the store stops at the first chunk past it.
    try:
        return blobs.write(_chunks(stream), max_bytes=limit)
    except BlobTooLargeError as exc:
        raise UploadRefusedError("too_large") from exc


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    stream.seek(0)
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


def _finish(blob: StoredBlob, size: int, inspection: Inspection, filename: str) -> StoredUpload:
    if blob.size != size:
        # Shrunk between measuring and storing: what was stored is not what was inspected.
        raise UploadRefusedError("unreadable")
    return StoredUpload(blob=blob, inspection=inspection, filename=sanitised_filename(filename))
