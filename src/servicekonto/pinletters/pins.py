"""PINs for letters: ten characters from an alphabet without look-alikes.

31 symbols (no 0/O, 1/I/L) over 10 positions give about 49.5 bits: with 5 attempts per letter
a guess succeeds with odds of about 1 in 10^14. Printed in groups of four for reading aloud.
"""

from __future__ import annotations

import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PIN_LENGTH = 10
MAX_TYPED_LENGTH = 40


def new_pin() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(PIN_LENGTH))


def grouped(pin: str) -> str:
    return " ".join(pin[i : i + 4] for i in range(0, len(pin), 4))


def normalise(typed: str) -> str | None:
    """What the person typed, as a PIN (spaces, dashes and case ignored), or None."""
    if len(typed) > MAX_TYPED_LENGTH:
        return None
    pin = "".join(char for char in typed.upper() if char not in " -\t")
    if len(pin) != PIN_LENGTH or any(char not in ALPHABET for char in pin):
        return None
    return pin
