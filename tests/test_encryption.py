"""Sealed secrets open only unchanged, in their own context, under their own purpose's key."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from servicekonto.errors import ServicekontoError
from servicekonto.security.encryption import DecryptionError, SecretBox
from servicekonto.security.secrets import derive_key

ROOT = "test-secret-key-that-is-long-enough-0123456789"
PLAINTEXT = b"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CONTEXT = b"person-1"


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(ROOT, "totp-seed")


def _raw(token: str) -> bytes:
    body = token.removeprefix("v1.")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _token(raw: bytes) -> str:
    return "v1." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_round_trip(box: SecretBox) -> None:
    token = box.encrypt(PLAINTEXT, CONTEXT)
    assert token.startswith("v1.")
    assert box.decrypt(token, CONTEXT) == PLAINTEXT
    assert PLAINTEXT.decode() not in token


def test_empty_associated_data_round_trips(box: SecretBox) -> None:
    assert box.decrypt(box.encrypt(b"")) == b""


def test_format_is_nonce_then_aes_gcm_ciphertext_under_the_derived_key(box: SecretBox) -> None:
    raw = _raw(box.encrypt(PLAINTEXT, CONTEXT))
    key = derive_key(ROOT, "encrypt:totp-seed")
    assert AESGCM(key).decrypt(raw[:12], raw[12:], CONTEXT) == PLAINTEXT


@pytest.mark.parametrize(
    "position", [0, 5, 12, 20, -1], ids=["nonce", "nonce2", "ct", "ct2", "tag"]
)
def test_a_flipped_byte_is_detected(box: SecretBox, position: int) -> None:
    raw = bytearray(_raw(box.encrypt(PLAINTEXT, CONTEXT)))
    raw[position] ^= 0x01
    with pytest.raises(DecryptionError):
        box.decrypt(_token(bytes(raw)), CONTEXT)


def test_truncated_value_is_refused(box: SecretBox) -> None:
    raw = _raw(box.encrypt(PLAINTEXT, CONTEXT))
    with pytest.raises(DecryptionError):
        box.decrypt(_token(raw[:20]), CONTEXT)


def test_wrong_associated_data_is_refused(box: SecretBox) -> None:
    token = box.encrypt(PLAINTEXT, CONTEXT)
    with pytest.raises(DecryptionError):
        box.decrypt(token, b"person-2")
    with pytest.raises(DecryptionError):
        box.decrypt(token)


def test_another_purpose_cannot_open_it(box: SecretBox) -> None:
    token = box.encrypt(PLAINTEXT, CONTEXT)
    with pytest.raises(DecryptionError):
        SecretBox(ROOT, "blob").decrypt(token, CONTEXT)


def test_another_root_secret_cannot_open_it(box: SecretBox) -> None:
    token = box.encrypt(PLAINTEXT, CONTEXT)
    with pytest.raises(DecryptionError):
        SecretBox(ROOT + "x", "totp-seed").decrypt(token, CONTEXT)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: "v2." + token.removeprefix("v1."),
        lambda token: token.removeprefix("v1."),
        lambda token: "V1." + token.removeprefix("v1."),
        lambda token: token + "!",
        lambda token: token[:-1] + "+",
        lambda token: token.replace("v1.", "v1.=", 1),
        lambda token: "",
        lambda token: "v1.",
    ],
    ids=["v2", "no-prefix", "upper-v", "bang", "plus", "padding", "empty", "empty-body"],
)
def test_unknown_format_or_characters_are_refused(
    box: SecretBox, mangle: Callable[[str], str]
) -> None:
    token = box.encrypt(PLAINTEXT, CONTEXT)
    with pytest.raises(DecryptionError):
        box.decrypt(mangle(token), CONTEXT)


def test_nonces_differ_so_equal_plaintexts_look_different(box: SecretBox) -> None:
    tokens = {box.encrypt(PLAINTEXT, CONTEXT) for _ in range(50)}
    nonces = {_raw(token)[:12] for token in tokens}
    assert len(tokens) == 50
    assert len(nonces) == 50


def test_decryption_error_is_one_of_ours() -> None:
    assert issubclass(DecryptionError, ServicekontoError)
