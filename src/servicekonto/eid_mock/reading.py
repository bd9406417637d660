"""What reading a test card gives, in the order a real eID run finds out.

PIN first (PACE, TR-03110 part 2: no PIN, no data), then the document's validity and the
revocation list the eID-Server checks (TR-03130, TR-03127), and only then the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from servicekonto.eid.port import EidFailure
from servicekonto.eid_mock.cards import TestCard
from servicekonto.eid_mock.store import EidMockStore, Outcome


@dataclass(frozen=True)
class WrongPin:
    tries_left: int


def read_card(store: EidMockStore, card: TestCard, pin: str, sector: str) -> Outcome | WrongPin:
    tries_left = store.enter_pin(card.card_id, pin)
    if tries_left == 0:
        return EidFailure.PIN_BLOCKED
    if tries_left is not None:
        return WrongPin(tries_left)
    if card.is_expired(store.now().date()):
        return EidFailure.CARD_EXPIRED
    if card.revoked:
        return EidFailure.CARD_REVOKED
    return card.attributes(sector)
