"""argon2id password hashing, checked against argon2-cffi's own low-level verifier."""

from __future__ import annotations

import re

import argon2
import pytest
from argon2 import Type
from argon2.exceptions import VerifyMismatchError
from argon2.low_level import verify_secret

from servicekonto.config import Argon2Settings
from servicekonto.security.passwords import PasswordHasher, normalise_password

# Cheap parameters: the tests prove behaviour, not cost.
CHEAP = Argon2Settings(time_cost=1, memory_cost_kib=8192, parallelism=1)
PASSWORD = "Moselwein im Herbst"


def fullwidth(ascii_text: str) -> str:
    """The text in Unicode's full-width forms (U+FF01..U+FF5E), as East Asian keyboards type it."""
    return "".join(chr(ord(char) + 0xFEE0) for char in ascii_text)


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(CHEAP)


def test_a_hash_verifies_its_password_and_nothing_else(hasher: PasswordHasher) -> None:
    stored = hasher.hash(PASSWORD)
    assert hasher.verify(stored, PASSWORD)
    assert not hasher.verify(stored, PASSWORD + "!")
    assert not hasher.verify(stored, PASSWORD.lower())


def test_the_same_password_gets_a_fresh_salt_each_time(hasher: PasswordHasher) -> None:
    assert hasher.hash(PASSWORD) != hasher.hash(PASSWORD)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "garbage",
        "$argon2id$v=19$m=8192,t=1,p=1$",
        "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$bm90IGEgcmVhbCBoYXNo",
        "$2b$12$notabcrypthashnotabcrypthashnotabcrypthashnotabcryp",
        "$argon2id$v=19$m=8192,t=1,p=1$säl†$häsh",
    ],
)
def test_an_unusable_stored_hash_is_a_failed_match_not_an_error(
    hasher: PasswordHasher, stored: str
) -> None:
    assert hasher.verify(stored, PASSWORD) is False


def test_a_truncated_hash_fails(hasher: PasswordHasher) -> None:
    assert not hasher.verify(hasher.hash(PASSWORD)[:-4], PASSWORD)


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        (fullwidth("sehr-geheim-2024"), "sehr-geheim-2024"),  # e.g. from a Japanese IME
        ("P\ufb01rsich und Of\ufb01zier", "Pfirsich und Offizier"),  # the "fi" ligature
        ("Grüße aus Cochem", "Gru\u0308ße aus Cochem"),  # composed and decomposed umlaut
    ],
)
def test_compatibility_forms_verify_against_the_nfkc_form(
    hasher: PasswordHasher, typed: str, normal: str
) -> None:
    # NIST SP 800-63B §5.1.1.2: the same password typed another way must still match.
    assert normalise_password(typed) == normalise_password(normal)
    assert hasher.verify(hasher.hash(normal), typed)
    assert hasher.verify(hasher.hash(typed), normal)


def test_the_hash_is_what_an_independent_argon2id_verifier_accepts(
    hasher: PasswordHasher,
) -> None:
    stored = hasher.hash(PASSWORD)
    assert verify_secret(stored.encode(), PASSWORD.encode(), Type.ID)
    with pytest.raises(VerifyMismatchError):
        verify_secret(stored.encode(), b"something else", Type.ID)


def test_the_encoded_parameters_are_the_settings(hasher: PasswordHasher) -> None:
    stored = hasher.hash(PASSWORD)
    match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", stored)
    assert match is not None, stored
    assert tuple(map(int, match.groups())) == (
        CHEAP.memory_cost_kib,
        CHEAP.time_cost,
        CHEAP.parallelism,
    )


def test_the_hash_of_a_normalised_password_is_of_its_nfkc_utf8_bytes(
    hasher: PasswordHasher,
) -> None:
    stored = hasher.hash("\ufb01ligran-" + fullwidth("Kunst"))
    assert verify_secret(stored.encode(), b"filigran-Kunst", Type.ID)


def test_needs_rehash_only_when_the_parameters_changed(hasher: PasswordHasher) -> None:
    stored = hasher.hash(PASSWORD)
    assert not hasher.needs_rehash(stored)
    for changed in (
        CHEAP.model_copy(update={"time_cost": 2}),
        CHEAP.model_copy(update={"memory_cost_kib": 9216}),
        CHEAP.model_copy(update={"parallelism": 2}),
    ):
        stronger = PasswordHasher(changed)
        assert stronger.needs_rehash(stored)
        assert stronger.verify(stored, PASSWORD)  # old hashes keep working until replaced
        assert not stronger.needs_rehash(stronger.hash(PASSWORD))


def test_an_unreadable_hash_needs_replacing(hasher: PasswordHasher) -> None:
    assert hasher.needs_rehash("garbage")


def test_dummy_verify_runs_and_returns_nothing(hasher: PasswordHasher) -> None:
    hasher.dummy_verify(PASSWORD)  # must not raise, even for odd input
    hasher.dummy_verify("")
    hasher.dummy_verify("\ud800")


def test_dummy_verify_does_a_real_verification_at_the_configured_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The time it takes is what hides unknown accounts, so it must be a full argon2id
    # verification against a hash with the current parameters, like a real login.
    checked: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def spy(self: argon2.PasswordHasher, stored: str | bytes, password: str | bytes) -> bool:
        checked.append(stored if isinstance(stored, str) else stored.decode())
        return real_verify(self, stored, password)

    hasher = PasswordHasher(CHEAP)
    monkeypatch.setattr(argon2.PasswordHasher, "verify", spy)
    hasher.dummy_verify(PASSWORD)
    assert len(checked) == 1
    assert checked[0].startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert not hasher.needs_rehash(checked[0])
