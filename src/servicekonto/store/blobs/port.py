"""The blob-store port: what the document safe and organisation uploads code against.

An adapter stores opaque byte streams under ids it chooses itself, so a caller can never pick
(or guess) the name a blob is stored under.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from servicekonto.errors import ServicekontoError

# uuid4 hex: 122 random bits from os.urandom, lowercase, so it is unguessable, fits a UUID
# column, is a safe file name and cannot collide on a case-insensitive file system.
_BLOB_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class StoredBlob:
    blob_id: str
    size: int  # plaintext bytes
    sha256: str  # hex digest of the plaintext


class BlobStoreError(ServicekontoError):
    """Base class of everything the blob store raises on purpose."""


class BlobTooLargeError(BlobStoreError):
    """The stream passed the caller's limit; nothing was stored."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"blob larger than {limit} bytes")


class BlobNotFoundError(BlobStoreError):
    """No blob under this id (or the id is not one we could have issued)."""


class BlobCorruptedError(BlobStoreError):
    """The stored blob failed authentication: altered, truncated, reordered or misplaced."""


class BlobStore(Protocol):
    def write(self, chunks: Iterable[bytes], *, max_bytes: int) -> StoredBlob:
        """Store the stream under a new id; all or nothing."""
        ...

    def read(self, blob_id: str) -> Iterator[bytes]:
        """The plaintext in authenticated chunks; BlobNotFoundError before the first one."""
        ...

    def delete(self, blob_id: str) -> None:
        """Remove the blob; deleting a missing blob is not an error."""
        ...

    def exists(self, blob_id: str) -> bool: ...


def new_blob_id() -> str:
    return uuid.uuid4().hex


def is_blob_id(value: str) -> bool:
    # fullmatch, not match with `$`: "$" would accept a trailing newline.
    return _BLOB_ID.fullmatch(value) is not None
