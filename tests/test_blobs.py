"""The encrypted blob store: streams in and out, all or nothing, and refuses any altered file."""

from __future__ import annotations

import hashlib
import itertools
import os
import stat
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from servicekonto.errors import ServicekontoError
from servicekonto.security.secrets import derive_key
from servicekonto.store.blobs import (
    CHUNK_SIZE,
    BlobCorruptedError,
    BlobNotFoundError,
    BlobStore,
    BlobTooLargeError,
    FileBlobStore,
    StoredBlob,
    is_blob_id,
)
from servicekonto.store.blobs.stream import HEADER_SIZE, SEALED_CHUNK_SIZE, TAG_SIZE

MASTER_KEY = derive_key("test-secret-key-that-is-long-enough-0123456789", "blob-store")
MiB = 1024 * 1024
# Piece sizes that never line up with the 64 KiB chunks: the store must re-chunk.
ODD_PIECES = (1, 4097, CHUNK_SIZE + 1, 13, 100_003)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "var" / "blobs"


@pytest.fixture
def store(root: Path) -> FileBlobStore:
    return FileBlobStore(root, MASTER_KEY)


def _pieces(data: bytes, sizes: Iterable[int] = ODD_PIECES) -> Iterator[bytes]:
    offset = 0
    for size in itertools.cycle(sizes):
        if offset >= len(data):
            return
        yield data[offset : offset + size]
        offset += size


def _read_all(store: BlobStore, blob_id: str) -> bytes:
    return b"".join(store.read(blob_id))


def _blob_file(root: Path, blob_id: str) -> Path:
    return root / blob_id[:2] / blob_id


def _files_under(directory: Path) -> list[Path]:
    return [Path(top) / name for top, _, names in os.walk(directory) for name in names]


def _chunk_offset(index: int) -> int:
    return HEADER_SIZE + index * SEALED_CHUNK_SIZE


# --- round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 3 * MiB + 7])
@pytest.mark.parametrize("one_piece", [False, True], ids=["odd-pieces", "one-piece"])
def test_round_trip(store: FileBlobStore, size: int, one_piece: bool) -> None:
    data = os.urandom(size)
    stored = store.write([data] if one_piece else _pieces(data), max_bytes=size)

    assert stored.size == size
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    chunks = list(store.read(stored.blob_id))
    assert b"".join(chunks) == data
    assert all(0 < len(chunk) <= CHUNK_SIZE for chunk in chunks)


def test_an_empty_blob_is_stored_as_one_sealed_empty_chunk(
    store: FileBlobStore, root: Path
) -> None:
    stored = store.write([], max_bytes=0)

    assert stored == StoredBlob(stored.blob_id, 0, hashlib.sha256(b"").hexdigest())
    assert list(store.read(stored.blob_id)) == []
    assert _blob_file(root, stored.blob_id).stat().st_size == HEADER_SIZE + TAG_SIZE


def test_ids_are_fresh_and_well_formed_and_ciphertexts_differ(
    store: FileBlobStore, root: Path
) -> None:
    first = store.write([b"same"], max_bytes=10)
    second = store.write([b"same"], max_bytes=10)

    assert first.blob_id != second.blob_id
    assert is_blob_id(first.blob_id)
    assert is_blob_id(second.blob_id)
    first_file = _blob_file(root, first.blob_id).read_bytes()
    assert first_file != _blob_file(root, second.blob_id).read_bytes()


def test_the_file_holds_no_plaintext(store: FileBlobStore, root: Path) -> None:
    marker = b"SECRET-MARKER-Handelsregisterauszug"
    data = marker * 5000

    stored = store.write(_pieces(data), max_bytes=len(data))

    on_disk = _blob_file(root, stored.blob_id).read_bytes()
    assert marker not in on_disk
    chunks = -(-len(data) // CHUNK_SIZE)
    assert len(on_disk) == HEADER_SIZE + len(data) + chunks * TAG_SIZE


def test_the_file_format_decrypts_with_an_independent_implementation(
    store: FileBlobStore, root: Path
) -> None:
    """The documented layout, read with plain HKDF and AES-GCM: stored blobs stay readable."""
    data = os.urandom(2 * CHUNK_SIZE + 5)
    stored = store.write([data], max_bytes=len(data))
    raw = _blob_file(root, stored.blob_id).read_bytes()
    header, body = raw[:HEADER_SIZE], raw[HEADER_SIZE:]
    info = b"servicekonto blob-store v1 key for blob " + stored.blob_id.encode()
    aead = AESGCM(HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(MASTER_KEY))

    assert header[:7] == b"SKBLOB\x01"
    sealed = [body[i : i + SEALED_CHUNK_SIZE] for i in range(0, len(body), SEALED_CHUNK_SIZE)]
    plaintext = b"".join(
        aead.decrypt(
            header[7:] + index.to_bytes(4, "big") + bytes([index == len(sealed) - 1]),
            chunk,
            header,
        )
        for index, chunk in enumerate(sealed)
    )
    assert plaintext == data


def test_files_are_0600_and_directories_0700(store: FileBlobStore, root: Path) -> None:
    stored = store.write([b"x"], max_bytes=1)

    path = _blob_file(root, stored.blob_id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_exists_and_idempotent_delete(store: FileBlobStore) -> None:
    stored = store.write([b"receipt"], max_bytes=100)
    assert store.exists(stored.blob_id)

    store.delete(stored.blob_id)
    store.delete(stored.blob_id)

    assert not store.exists(stored.blob_id)
    with pytest.raises(BlobNotFoundError):
        store.read(stored.blob_id)


def test_a_missing_blob_fails_when_read_is_called_not_when_iterated(store: FileBlobStore) -> None:
    # A download handler must learn "not found" before it starts a response.
    with pytest.raises(BlobNotFoundError):
        store.read("0" * 32)


def test_errors_are_servicekonto_errors() -> None:
    assert issubclass(BlobTooLargeError, ServicekontoError)
    assert issubclass(BlobNotFoundError, ServicekontoError)
    assert issubclass(BlobCorruptedError, ServicekontoError)


def test_a_short_master_key_and_a_negative_limit_are_refused(store: FileBlobStore) -> None:
    with pytest.raises(ValueError, match="master key"):
        FileBlobStore(Path("unused"), b"short")
    with pytest.raises(ValueError, match="max_bytes"):
        store.write([b""], max_bytes=-1)


# --- all or nothing ---------------------------------------------------------------------------


def test_a_blob_exactly_at_the_limit_is_stored(store: FileBlobStore) -> None:
    data = os.urandom(CHUNK_SIZE + 3)
    stored = store.write(_pieces(data), max_bytes=len(data))
    assert _read_all(store, stored.blob_id) == data


def test_one_byte_past_the_limit_stores_nothing(store: FileBlobStore, root: Path) -> None:
    data = os.urandom(3 * CHUNK_SIZE)

    with pytest.raises(BlobTooLargeError) as raised:
        store.write(_pieces(data), max_bytes=len(data) - 1)

    assert raised.value.limit == len(data) - 1
    assert _files_under(root) == []


def test_an_endless_upload_is_stopped_at_the_limit(store: FileBlobStore, root: Path) -> None:
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield b"x" * 1000

    with pytest.raises(BlobTooLargeError):
        store.write(endless(), max_bytes=10_000)

    assert pulled == 11
    assert _files_under(root) == []


def test_an_upload_that_breaks_off_leaves_nothing(store: FileBlobStore, root: Path) -> None:
    def disconnecting() -> Iterator[bytes]:
        yield os.urandom(3 * CHUNK_SIZE)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.write(disconnecting(), max_bytes=10 * MiB)

    assert _files_under(root) == []


# --- tampering --------------------------------------------------------------------------------


@pytest.fixture
def three_chunks(store: FileBlobStore) -> tuple[StoredBlob, bytes]:
    data = os.urandom(2 * CHUNK_SIZE + 100)
    return store.write([data], max_bytes=len(data)), data


def _edit(path: Path, edit: Callable[[bytearray], None]) -> None:
    raw = bytearray(path.read_bytes())
    edit(raw)
    path.write_bytes(bytes(raw))


def _flip(offset: int) -> Callable[[bytearray], None]:
    def flip(raw: bytearray) -> None:
        raw[offset] ^= 0x01

    return flip


@pytest.mark.parametrize(
    "offset",
    [
        0,  # magic
        6,  # version
        HEADER_SIZE - 1,  # nonce prefix
        HEADER_SIZE + 10,  # first chunk's ciphertext
        _chunk_offset(1) - 1,  # first chunk's tag
        _chunk_offset(2) + 3,  # last chunk
    ],
    ids=["magic", "version", "prefix", "first-chunk", "first-tag", "last-chunk"],
)
def test_one_changed_byte_is_detected(
    store: FileBlobStore, root: Path, three_chunks: tuple[StoredBlob, bytes], offset: int
) -> None:
    stored, _ = three_chunks
    _edit(_blob_file(root, stored.blob_id), _flip(offset))

    with pytest.raises(BlobCorruptedError):
        _read_all(store, stored.blob_id)


def test_no_unauthenticated_byte_reaches_the_reader(
    store: FileBlobStore, root: Path, three_chunks: tuple[StoredBlob, bytes]
) -> None:
    stored, data = three_chunks
    _edit(_blob_file(root, stored.blob_id), _flip(_chunk_offset(1) + 5))
    received: list[bytes] = []

    with pytest.raises(BlobCorruptedError):
        received.extend(store.read(stored.blob_id))

    assert received == [data[:CHUNK_SIZE]]


def test_a_damaged_first_chunk_fails_before_read_returns(
    store: FileBlobStore, root: Path, three_chunks: tuple[StoredBlob, bytes]
) -> None:
    stored, _ = three_chunks
    _edit(_blob_file(root, stored.blob_id), _flip(HEADER_SIZE))

    with pytest.raises(BlobCorruptedError):
        store.read(stored.blob_id)


@pytest.mark.parametrize(
    "length",
    [_chunk_offset(2), _chunk_offset(1), _chunk_offset(2) + 40, HEADER_SIZE, 3, 0],
    ids=["last-chunk-dropped", "two-chunks-dropped", "mid-chunk", "header-only", "short", "empty"],
)
def test_a_truncated_file_is_detected(
    store: FileBlobStore, root: Path, three_chunks: tuple[StoredBlob, bytes], length: int
) -> None:
    stored, _ = three_chunks
    _edit(_blob_file(root, stored.blob_id), lambda raw: raw.__delitem__(slice(length, None)))

    with pytest.raises(BlobCorruptedError):
        _read_all(store, stored.blob_id)


def test_a_blob_cut_at_a_chunk_boundary_is_detected(store: FileBlobStore, root: Path) -> None:
    # 2 full chunks: dropping the last leaves a well-formed-looking one-chunk file.
    data = os.urandom(2 * CHUNK_SIZE)
    stored = store.write([data], max_bytes=len(data))
    _edit(
        _blob_file(root, stored.blob_id), lambda raw: raw.__delitem__(slice(_chunk_offset(1), None))
    )

    with pytest.raises(BlobCorruptedError):
        _read_all(store, stored.blob_id)


def test_appended_data_is_detected(
    store: FileBlobStore, root: Path, three_chunks: tuple[StoredBlob, bytes]
) -> None:
    stored, _ = three_chunks
    _edit(_blob_file(root, stored.blob_id), lambda raw: raw.extend(b"\x00" * SEALED_CHUNK_SIZE))

    with pytest.raises(BlobCorruptedError):
        _read_all(store, stored.blob_id)


def test_swapped_chunks_are_detected(
    store: FileBlobStore, root: Path, three_chunks: tuple[StoredBlob, bytes]
) -> None:
    stored, _ = three_chunks

    def swap(raw: bytearray) -> None:
        first = slice(_chunk_offset(0), _chunk_offset(1))
        second = slice(_chunk_offset(1), _chunk_offset(2))
        raw[first], raw[second] = raw[second], raw[first]

    _edit(_blob_file(root, stored.blob_id), swap)

    with pytest.raises(BlobCorruptedError):
        _read_all(store, stored.blob_id)


def test_a_file_copied_under_another_id_does_not_decrypt(
    store: FileBlobStore, root: Path, three_chunks: tuple[StoredBlob, bytes]
) -> None:
    stored, _ = three_chunks
    other = store.write([b"someone else's notice"], max_bytes=100)
    _blob_file(root, other.blob_id).write_bytes(_blob_file(root, stored.blob_id).read_bytes())

    with pytest.raises(BlobCorruptedError):
        _read_all(store, other.blob_id)


def test_a_chunk_spliced_in_from_another_blob_is_detected(store: FileBlobStore, root: Path) -> None:
    data = os.urandom(2 * CHUNK_SIZE + 1)
    victim = store.write([data], max_bytes=len(data))
    donor = store.write([data], max_bytes=len(data))
    donor_chunk = _blob_file(root, donor.blob_id).read_bytes()[_chunk_offset(1) : _chunk_offset(2)]

    def splice(raw: bytearray) -> None:
        raw[_chunk_offset(1) : _chunk_offset(2)] = donor_chunk

    _edit(_blob_file(root, victim.blob_id), splice)

    with pytest.raises(BlobCorruptedError):
        _read_all(store, victim.blob_id)


def test_another_master_key_does_not_decrypt(
    root: Path, store: FileBlobStore, three_chunks: tuple[StoredBlob, bytes]
) -> None:
    stored, _ = three_chunks
    other_key = derive_key("another-secret-key-that-is-long-enough-012345", "blob-store")

    with pytest.raises(BlobCorruptedError):
        _read_all(FileBlobStore(root, other_key), stored.blob_id)


# --- ids never become foreign paths -----------------------------------------------------------


@pytest.mark.parametrize(
    "blob_id",
    [
        "../etc/passwd",
        "",
        "a" * 10_000,
        "../" + "0" * 29,
        "/" + "0" * 31,
        "0" * 32 + "\n",
        "A" * 32,
        "0" * 31,
        "..",
    ],
)
def test_malformed_ids_never_reach_the_file_system(
    store: FileBlobStore, tmp_path: Path, blob_id: str
) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"keep me")

    assert not store.exists(blob_id)
    with pytest.raises(BlobNotFoundError):
        store.read(blob_id)
    with pytest.raises(BlobNotFoundError):
        store.delete(blob_id)
    assert outside.read_bytes() == b"keep me"


# --- crashed writes ---------------------------------------------------------------------------


def test_sweep_removes_only_stale_temporaries(store: FileBlobStore, root: Path) -> None:
    stored = store.write([b"keep"], max_bytes=10)
    directory = _blob_file(root, stored.blob_id).parent
    stale = [directory / ".tmp-crashed1", root / "ff" / ".tmp-crashed2"]
    fresh = directory / ".tmp-uploading"
    (root / "ff").mkdir()
    for path in [*stale, fresh]:
        path.write_bytes(b"partial")
    old = (NOW - timedelta(hours=2)).timestamp()
    for path in stale:
        os.utime(path, (old, old))
    recent = (NOW - timedelta(minutes=5)).timestamp()
    os.utime(fresh, (recent, recent))

    assert store.sweep_temporaries(timedelta(hours=1), NOW) == 2

    assert not any(path.exists() for path in stale)
    assert fresh.exists()
    assert _read_all(store, stored.blob_id) == b"keep"


def test_sweep_on_a_store_never_written_to(store: FileBlobStore) -> None:
    assert store.sweep_temporaries(timedelta(hours=1), NOW) == 0


def test_sweep_needs_an_aware_now(store: FileBlobStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.sweep_temporaries(timedelta(hours=1), datetime(2026, 3, 1))


# --- streaming --------------------------------------------------------------------------------


def test_a_50_mib_blob_streams_through_in_little_memory(store: FileBlobStore) -> None:
    piece = os.urandom(100_003)
    count = 50 * MiB // len(piece)
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(piece)

    tracemalloc.start()
    try:
        stored = store.write(itertools.repeat(piece, count), max_bytes=50 * MiB)
        received = hashlib.sha256()
        for chunk in store.read(stored.blob_id):
            received.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stored.size == count * len(piece)
    assert received.hexdigest() == stored.sha256 == expected.hexdigest()
    assert peak < 8 * MiB
