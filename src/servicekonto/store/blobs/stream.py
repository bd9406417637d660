"""Chunked authenticated encryption of one blob: the STREAM construction over AES-256-GCM.

STREAM (Hoang, Reyhanitabar, Rogaway, Vizár: "Online Authenticated-Encryption and its
Nonce-Reuse Misuse-Resistance", CRYPTO 2015, §7) seals a stream chunk by chunk, so neither
writer nor reader ever holds a whole blob, and still authenticates the stream as a whole: the
nonce of every chunk is

    nonce prefix (7 random bytes per blob) || chunk counter (4 bytes, big-endian) || last flag

so a chunk moved to another position (counter), a stream cut after any chunk (only the final
chunk carries the flag) and a chunk taken from another blob (prefix and key) all fail the tag.
Each blob has its own key, derived with HKDF-SHA256 (RFC 5869) from the master key with the
blob id in `info`: a file copied under another id does not decrypt there.

File layout (version 1):

    header  = b"SKBLOB" || 0x01 || nonce prefix (7 bytes)        -- 14 bytes
    chunk i = AES-256-GCM(key, nonce_i, plaintext_i, aad=header)  -- plaintext_i || 16-byte tag

Every chunk but the last holds exactly 64 KiB of plaintext; the last holds 0 to 64 KiB, so an
empty blob is one sealed empty chunk. The header is associated data of every chunk, so the
version byte cannot be swapped for another one either.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from servicekonto.store.blobs.port import BlobCorruptedError

CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
MAGIC = b"SKBLOB"
VERSION = 1
PREFIX_SIZE = 7
HEADER_SIZE = len(MAGIC) + 1 + PREFIX_SIZE
# The 32-bit counter bounds a blob: 2^32 chunks of 64 KiB (256 TiB). A writer must stop there,
# as a wrapped counter would reuse nonces.
MAX_PLAINTEXT_SIZE = 2**32 * CHUNK_SIZE
MIN_MASTER_KEY_SIZE = 32
_KEY_INFO = b"servicekonto blob-store v1 key for blob "
_NONCE_SUFFIX = struct.Struct(">IB")


class StreamCipher:
    """Seals and opens the chunks of one blob under its own key and nonce prefix."""

    def __init__(self, master_key: bytes, blob_id: str, header: bytes) -> None:
        self.header = header
        self._prefix = header[-PREFIX_SIZE:]
        self._aead = AESGCM(_blob_key(master_key, blob_id))

    @classmethod
    def for_new_blob(cls, master_key: bytes, blob_id: str) -> StreamCipher:
        return cls(master_key, blob_id, MAGIC + bytes([VERSION]) + os.urandom(PREFIX_SIZE))

    @classmethod
    def for_stored_blob(cls, master_key: bytes, blob_id: str, header: bytes) -> StreamCipher:
        if len(header) != HEADER_SIZE or not header.startswith(MAGIC):
            raise BlobCorruptedError("not a blob file")
        if header[len(MAGIC)] != VERSION:
            raise BlobCorruptedError(f"unknown blob format version {header[len(MAGIC)]}")
        return cls(master_key, blob_id, header)

    def seal(self, counter: int, plaintext: bytes, *, last: bool) -> bytes:
        return self._aead.encrypt(self._nonce(counter, last), plaintext, self.header)

    def open(self, counter: int, sealed: bytes, *, last: bool) -> bytes:
        try:
            return self._aead.decrypt(self._nonce(counter, last), sealed, self.header)
        except InvalidTag:
            raise BlobCorruptedError(f"chunk {counter} failed authentication") from None

    def _nonce(self, counter: int, last: bool) -> bytes:
        # struct refuses a counter past 2^32 - 1 rather than wrapping it.
        return self._prefix + _NONCE_SUFFIX.pack(counter, last)


def seal_stream(cipher: StreamCipher, pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The header, then every chunk sealed, for pieces of any size."""
    yield cipher.header
    for counter, (plaintext, last) in enumerate(rechunk(pieces)):
        yield cipher.seal(counter, plaintext, last=last)


def open_stream(master_key: bytes, blob_id: str, read: Callable[[int], bytes]) -> Iterator[bytes]:
    """Authenticated plaintext chunks; each is verified before it is yielded.

    `read(n)` returns up to n bytes and fewer only at the end, as a file does.
    """
    cipher = StreamCipher.for_stored_blob(master_key, blob_id, read(HEADER_SIZE))
    current = read(SEALED_CHUNK_SIZE)
    counter = 0
    while True:
        # Reading one chunk ahead tells whether this one is the last: a stream cut after a
        # chunk makes it the last one read, and its tag (sealed without the flag) fails.
        following = read(SEALED_CHUNK_SIZE)
        yield cipher.open(counter, current, last=not following)
        if not following:
            return
        current, counter = following, counter + 1


def rechunk(pieces: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Full chunks of CHUNK_SIZE, each with whether it is the last; always at least one.

    A full chunk is held back until more data arrives, as only then is it known not to be the
    last. Large pieces are cut through a memoryview, so nothing is copied more than once.
    """
    pending = bytearray()
    for piece in pieces:
        view = memoryview(piece)
        while view:
            if len(pending) == CHUNK_SIZE:
                yield bytes(pending), False
                pending.clear()
            take = CHUNK_SIZE - len(pending)
            pending += view[:take]
            view = view[take:]
    yield bytes(pending), True


def _blob_key(master_key: bytes, blob_id: str) -> bytes:
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO + blob_id.encode())
    return kdf.derive(master_key)
