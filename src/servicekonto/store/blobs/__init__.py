"""Encrypted blob storage for the document safe and organisation uploads.

`BlobStore` is the port; `FileBlobStore` keeps each blob as an encrypted file under a root
directory (DESIGN.md: "files under var/blobs/, encrypted at rest"). Blobs are written and read
as streams of chunks, never whole, and are sealed with AES-256-GCM in the STREAM construction
(`stream.py`), so a changed, cut, reordered or moved file raises BlobCorruptedError instead of
returning bytes that were never stored.

Wiring: the master key is derived from the service's root secret for this one purpose,

    FileBlobStore(root, master_key=derive_key(secret, "blob-store"))

with `servicekonto.security.secrets.derive_key`. The key cannot be changed without re-encrypting
every blob; a different secret makes every stored blob unreadable (BlobCorruptedError).
"""

from servicekonto.store.blobs.filesystem import TEMPORARY_PREFIX, FileBlobStore
from servicekonto.store.blobs.port import (
    BlobCorruptedError,
    BlobNotFoundError,
    BlobStore,
    BlobStoreError,
    BlobTooLargeError,
    StoredBlob,
    is_blob_id,
)
from servicekonto.store.blobs.stream import CHUNK_SIZE

__all__ = [
    "CHUNK_SIZE",
    "TEMPORARY_PREFIX",
    "BlobCorruptedError",
    "BlobNotFoundError",
    "BlobStore",
    "BlobStoreError",
    "BlobTooLargeError",
    "FileBlobStore",
    "StoredBlob",
    "is_blob_id",
]
