"""The blob store the settings describe: encrypted files under the var directory."""

from __future__ import annotations

from servicekonto.config import Settings
from servicekonto.security.secrets import derive_key
from servicekonto.store.blobs import FileBlobStore

BLOB_DIRECTORY = "blobs"


def blob_store_from_settings(settings: Settings) -> FileBlobStore:
    if settings.secret_key is None:
        raise ValueError("the blob store needs settings with a secret key")
    master_key = derive_key(settings.secret_key.get_secret_value(), "blob-store")
    return FileBlobStore(settings.var_dir / BLOB_DIRECTORY, master_key)
