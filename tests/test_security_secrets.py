"""Keyed digests and prefixed tokens."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from servicekonto.security.secrets import Digester, derive_key, new_token, token_kind

ROOT = "root-secret-for-tests-0123456789abcdef"


def test_derived_keys_differ_by_purpose_and_match_rfc5869_hkdf() -> None:
    independent = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"servicekonto key derivation v1", info=b"pin"
    ).derive(ROOT.encode())
    assert derive_key(ROOT, "pin") == independent
    assert derive_key(ROOT, "pin") != derive_key(ROOT, "refresh-token")
    with pytest.raises(ValueError, match="purpose"):
        derive_key(ROOT, "")


def test_digest_is_hmac_sha256_under_the_purpose_key() -> None:
    digester = Digester(ROOT, "pin")
    expected = hmac.new(derive_key(ROOT, "digest:pin"), b"ABCD2345", hashlib.sha256).hexdigest()
    assert digester.digest("ABCD2345") == expected
    assert digester.matches("ABCD2345", expected)
    assert not digester.matches("ABCD2346", expected)


def test_digests_of_one_purpose_do_not_match_another() -> None:
    value = "same-secret"
    assert Digester(ROOT, "pin").digest(value) != Digester(ROOT, "code").digest(value)
    assert Digester(ROOT, "pin").digest(value) != Digester(ROOT + "x", "pin").digest(value)


def test_tokens_carry_their_kind_and_are_random() -> None:
    first, second = new_token("rt"), new_token("rt")
    assert first.startswith("sk_rt_")
    assert first != second
    assert len(first) > 40
    assert token_kind(first) == "rt"


@pytest.mark.parametrize("foreign", ["", "sk", "sk_", "sk_rt_", "xx_rt_abc", "eyJhbGciOi.x.y"])
def test_foreign_strings_have_no_token_kind(foreign: str) -> None:
    assert token_kind(foreign) is None


@pytest.mark.parametrize("kind", ["RT", "r_t", "", "rt-1"])
def test_token_kind_must_be_plain(kind: str) -> None:
    with pytest.raises(ValueError, match="token kind"):
        new_token(kind)
