"""The filesystem adapter of the blob-store port: encrypted files under one root directory.

    root/                    0700
      3f/                    0700, fan-out on the first two characters of the id
        3f9c…e1              0600, one encrypted blob (format in `stream.py`)
        .tmp-k2j…            0600, a write in progress

A write goes to a temporary file in the blob's own directory, is fsynced, and is renamed over
the final name with `os.replace` (atomic within one directory on POSIX), so a reader sees the
whole blob or none. Any failure, the caller's iterable raising included, removes the temporary
file. A process killed mid-write can still leave one: `sweep_temporaries` removes those.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

from servicekonto.store.blobs.port import (
    BlobNotFoundError,
    BlobTooLargeError,
    StoredBlob,
    is_blob_id,
    new_blob_id,
)
from servicekonto.store.blobs.stream import (
    MAX_PLAINTEXT_SIZE,
    MIN_MASTER_KEY_SIZE,
    StreamCipher,
    open_stream,
    seal_stream,
)

TEMPORARY_PREFIX = ".tmp-"
_FAN_OUT = 2
_DIRECTORY_MODE = 0o700


class FileBlobStore:
    def __init__(self, root: Path, master_key: bytes) -> None:
        if len(master_key) < MIN_MASTER_KEY_SIZE:
            raise ValueError(f"the blob master key needs at least {MIN_MASTER_KEY_SIZE} bytes")
        self._root = root
        self._master_key = master_key

    def write(self, chunks: Iterable[bytes], *, max_bytes: int) -> StoredBlob:
        if max_bytes < 0:
            raise ValueError("max_bytes cannot be negative")
        blob_id = new_blob_id()
        path = self._path(blob_id)
        _make_private_directory(path.parent)
        counter = _CountingReader(chunks, limit=max_bytes)
        cipher = StreamCipher.for_new_blob(self._master_key, blob_id)
        _write_atomically(path, seal_stream(cipher, counter))
        return StoredBlob(blob_id=blob_id, size=counter.size, sha256=counter.sha256.hexdigest())

    def read(self, blob_id: str) -> Iterator[bytes]:
        """Plaintext chunks of up to 64 KiB, each authenticated before it is yielded.

        The file is opened and its first chunk verified before this returns, so a missing or
        damaged blob raises here, before a response has started; a later chunk that fails
        raises BlobCorruptedError from the iterator.
        """
        chunks = self._open_chunks(self._existing_path(blob_id), blob_id)
        first = next(chunks)
        return _prepend(first, chunks)

    def delete(self, blob_id: str) -> None:
        self._existing_path(blob_id).unlink(missing_ok=True)

    def exists(self, blob_id: str) -> bool:
        return is_blob_id(blob_id) and self._path(blob_id).is_file()

    def sweep_temporaries(self, older_than: timedelta, now: datetime) -> int:
        """Remove temporary files untouched for `older_than`; returns how many.

        A live write touches its file with every chunk, so only writes stalled that long are
        removed: choose `older_than` well above the longest upload timeout.
        """
        if now.tzinfo is None:
            raise ValueError("sweep_temporaries needs a timezone-aware `now`")
        cutoff = (now - older_than).timestamp()
        stale = [path for path in self._temporaries() if _modified_before(path, cutoff)]
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    def _open_chunks(self, path: Path, blob_id: str) -> Iterator[bytes]:
        try:
            file = path.open("rb")
        except FileNotFoundError:
            raise BlobNotFoundError(blob_id) from None
        with file:
            yield from open_stream(self._master_key, blob_id, file.read)

    def _existing_path(self, blob_id: str) -> Path:
        # Only ids we could have issued become paths: "../x", "", or a very long id never
        # reach the file system, so no request can name a file outside the root.
        if not is_blob_id(blob_id):
            raise BlobNotFoundError("not a blob id")
        return self._path(blob_id)

    def _path(self, blob_id: str) -> Path:
        return self._root / blob_id[:_FAN_OUT] / blob_id

    def _temporaries(self) -> Iterator[Path]:
        if not self._root.is_dir():
            return
        for directory in self._root.iterdir():
            if len(directory.name) == _FAN_OUT and directory.is_dir():
                yield from directory.glob(f"{TEMPORARY_PREFIX}*")


class _CountingReader:
    """Passes pieces through, counting and hashing the plaintext and enforcing the limit."""

    def __init__(self, pieces: Iterable[bytes], *, limit: int) -> None:
        self._pieces = pieces
        self._limit = min(limit, MAX_PLAINTEXT_SIZE)
        self.size = 0
        self.sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._pieces:
            self.size += len(piece)
            # Checked before the piece is sealed, so an oversized upload stops at the piece
            # that crosses the limit instead of being read to its end.
            if self.size > self._limit:
                raise BlobTooLargeError(self._limit)
            self.sha256.update(piece)
            yield piece


def _write_atomically(path: Path, sealed: Iterable[bytes]) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            for data in sealed:
                file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        _fsync_directory(path.parent)
    except BaseException:
        # BaseException: a client disconnecting (the iterable raising) or a cancelled worker
        # must not leave a partial file behind either. The id is fresh, so removing `path`
        # can only remove this write's own blob, which the caller will never learn about.
        for leftover in (Path(temporary), path):
            leftover.unlink(missing_ok=True)
        raise


def _make_private_directory(directory: Path) -> None:
    # The mode applies to the root and the fan-out directory when made here; parents of the
    # root that mkdir has to create (say var/) get the umask's default like any directory.
    directory.parent.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
    directory.mkdir(mode=_DIRECTORY_MODE, exist_ok=True)


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk (fsync(2), "NOTES").
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _modified_before(path: Path, cutoff: float) -> bool:
    try:
        return path.lstat().st_mtime < cutoff
    except FileNotFoundError:
        return False  # finished or removed by its writer meanwhile


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    # An empty blob is a single empty chunk; a consumer gets no chunks, not one empty one.
    if first:
        yield first
    yield from rest
