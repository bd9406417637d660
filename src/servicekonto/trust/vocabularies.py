"""The four vocabularies German procedures name trust levels in (DESIGN.md, trust levels).

Every value is accepted on input; the answer uses the vocabulary the procedure asked in.
eIDAS has no value for level 1 (a self-declared identity is not eIDAS-conformant).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from servicekonto.trust.levels import TrustLevel


class Vocabulary(StrEnum):
    STORK = "stork"
    BSI = "bsi"  # BSI TR-03130
    EIDAS = "eidas"
    AKDB = "akdb"  # per-attribute TrustLevel of the federal account's interface


_VALUES: dict[Vocabulary, dict[TrustLevel, str]] = {
    Vocabulary.STORK: {level: f"STORK-QAA-Level-{int(level)}" for level in TrustLevel},
    Vocabulary.BSI: {
        TrustLevel.BASIC: "http://bsi.bund.de/eID/LoA/undefined",
        TrustLevel.LOW: "http://bsi.bund.de/eID/LoA/normal",
        TrustLevel.SUBSTANTIAL: "http://bsi.bund.de/eID/LoA/substantiell",
        TrustLevel.HIGH: "http://bsi.bund.de/eID/LoA/hoch",
    },
    Vocabulary.EIDAS: {
        TrustLevel.LOW: "http://eidas.europa.eu/LoA/low",
        TrustLevel.SUBSTANTIAL: "http://eidas.europa.eu/LoA/substantial",
        TrustLevel.HIGH: "http://eidas.europa.eu/LoA/high",
    },
    Vocabulary.AKDB: {
        TrustLevel.BASIC: "UNTERGEORDNET",
        TrustLevel.LOW: "NORMAL",
        TrustLevel.SUBSTANTIAL: "SUBSTANTIELL",
        TrustLevel.HIGH: "HOCH",
    },
}
_PARSE = {
    value: (level, vocabulary)
    for vocabulary, table in _VALUES.items()
    for level, value in table.items()
}
DEFAULT_VOCABULARY = Vocabulary.STORK


@dataclass(frozen=True)
class RequestedLevel:
    level: TrustLevel
    vocabulary: Vocabulary


def parse_acr(value: str) -> RequestedLevel | None:
    found = _PARSE.get(value.strip())
    return RequestedLevel(found[0], found[1]) if found else None


def acr_value(level: TrustLevel, vocabulary: Vocabulary) -> str | None:
    """The level in the vocabulary, or None where it has no word for it (eIDAS, level 1)."""
    return _VALUES[vocabulary].get(level)


def supported_acr_values() -> list[str]:
    """For discovery: every value in the protocol vocabularies (not the per-attribute one)."""
    return [
        value
        for vocabulary in (Vocabulary.STORK, Vocabulary.BSI, Vocabulary.EIDAS)
        for value in _VALUES[vocabulary].values()
    ]
