"""The mock eID-Server's memory: sessions, their single-use results and the cards' PIN counters.

Everything lives in this process and is lost on restart, as befits a test double. Handlers run
in FastAPI's thread pool, so every change happens under one lock: two requests with the same
result reference must not both get the attributes.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from servicekonto.clock import Clock
from servicekonto.eid.port import EidAttributes, EidFailure
from servicekonto.eid.wire import Attribute
from servicekonto.eid_mock.cards import PIN_ATTEMPTS, TestCard

# How long a result waits to be fetched; the browser comes back within seconds.
RESULT_LIFETIME = timedelta(minutes=10)

Outcome = EidAttributes | EidFailure


@dataclass
class Session:
    return_url: str
    sector: str
    attributes: tuple[Attribute, ...]
    finished: bool = False  # one eID client run per session, one result


@dataclass
class _Result:
    session_id: str
    outcome: Outcome
    issued_at: datetime
    used: bool = False


class EidMockStore:
    def __init__(self, cards: Sequence[TestCard], clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._results: dict[str, _Result] = {}
        self._pins = {card.card_id: card.pin for card in cards}
        self._tries_left = {c.card_id: 0 if c.pin_blocked else PIN_ATTEMPTS for c in cards}

    def now(self) -> datetime:
        return self._clock.now()

    def open_session(self, return_url: str, sector: str, attributes: Sequence[Attribute]) -> str:
        session_id = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[session_id] = Session(return_url, sector, tuple(attributes))
        return session_id

    def session(self, session_id: str) -> Session | None:
        with self._lock:
            return self._sessions.get(session_id)

    def finish(self, session_id: str, outcome: Outcome) -> str | None:
        """A new single-use result reference; None if the session is unknown or finished."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.finished:
                return None
            session.finished = True
            ref = secrets.token_urlsafe(32)
            self._results[ref] = _Result(session_id, outcome, self._clock.now())
            return ref

    def take_result(self, session_id: str, ref: str) -> Outcome:
        """The outcome behind `ref`, once; a failure for every reason to refuse it."""
        with self._lock:
            if session_id not in self._sessions:
                return EidFailure.UNKNOWN_SESSION
            result = self._results.get(ref)
            # Someone else's result stays unused: a stranger's guess must not spoil it.
            if result is None or result.session_id != session_id:
                return EidFailure.SESSION_MISMATCH
            if result.used:
                return EidFailure.RESULT_REPLAYED
            result.used = True
            if self._clock.now() - result.issued_at > RESULT_LIFETIME:
                return EidFailure.RESULT_EXPIRED
            return result.outcome

    def enter_pin(self, card_id: str, pin: str) -> int | None:
        """None for the right PIN (the counter starts again), else the tries left; 0 = blocked.

        The counter belongs to the card, not to the session, as the retry counter on a chip does.
        """
        with self._lock:
            left = self._tries_left[card_id]
            if left == 0:
                return 0
            if hmac.compare_digest(pin.encode(), self._pins[card_id].encode()):
                self._tries_left[card_id] = PIN_ATTEMPTS
                return None
            self._tries_left[card_id] = left - 1
            return left - 1

    def pin_blocked(self, card_id: str) -> bool:
        with self._lock:
            return self._tries_left[card_id] == 0
