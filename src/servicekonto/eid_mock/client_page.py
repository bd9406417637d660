"""The page standing in for the person's eID client (in real life: the AusweisApp).

A real eID client talks to the card and to the eID-Server, then sends the browser to the
refresh address (TR-03124 part 1, TR-03130). Here the person picks a test card and types the
PIN; the page decides as a card would (`reading.py`) and sends the browser back with a
single-use result reference — on success, on every card problem and on "Abbrechen" alike, so
the service always learns the outcome from the eID-Server, never from the browser.

The session id in the form is the only key to a session: it is random and known only to the
service that opened it and the browser it sent here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jinja2
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from servicekonto.eid.port import EidFailure
from servicekonto.eid.wire import Attribute
from servicekonto.eid_mock.api import CLIENT_PAGE
from servicekonto.eid_mock.cards import TestCard
from servicekonto.eid_mock.reading import WrongPin, read_card
from servicekonto.eid_mock.store import EidMockStore, Outcome, Session

ATTRIBUTE_NAMES = {
    Attribute.GIVEN_NAMES: "Vornamen",
    Attribute.FAMILY_NAMES: "Familienname",
    Attribute.BIRTH_NAME: "Geburtsname",
    Attribute.DATE_OF_BIRTH: "Geburtsdatum",
    Attribute.PLACE_OF_BIRTH: "Geburtsort",
    Attribute.PLACE_OF_RESIDENCE: "Anschrift",
    Attribute.DOCUMENT_TYPE: "Dokumentart",
    Attribute.RESTRICTED_ID: "Pseudonym (dienste- und kartenspezifisches Kennzeichen)",
}
UNKNOWN_SESSION = "Dieser Ausweisvorgang ist unbekannt. Bitte starten Sie ihn beim Dienst neu."
FINISHED_SESSION = "Dieser Ausweisvorgang ist bereits abgeschlossen."
NO_CARD = "Bitte wählen Sie einen Testausweis aus."
BAD_PIN_FORMAT = "Die PIN besteht aus sechs Ziffern."
_PIN_FORMAT = re.compile(r"[0-9]{6}")
# The page has no script and loads nothing; no one may frame it (clickjacking on a PIN field).
_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("servicekonto.eid_mock", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def wrong_pin_message(tries_left: int) -> str:
    tries = "ein Versuch" if tries_left == 1 else f"{tries_left} Versuche"
    return f"Die PIN ist falsch. Sie haben noch {tries}, danach wird die PIN gesperrt."


def client_router(store: EidMockStore, cards: Mapping[str, TestCard]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    page = _PageRenderer(cards)

    @router.get("/client", name=CLIENT_PAGE, response_class=HTMLResponse)
    def show(request: Request, session: Annotated[str, Query()] = "") -> Response:
        found = store.session(session)
        if found is None or found.finished:
            return page.unusable(found)
        return _Visit(store, page, request, session, found).form()

    @router.post("/client", response_class=HTMLResponse)
    def submit(
        request: Request,
        session: Annotated[str, Form()],
        action: Annotated[str, Form()] = "identify",
        card: Annotated[str, Form()] = "",
        pin: Annotated[str, Form()] = "",
    ) -> Response:
        found = store.session(session)
        if found is None or found.finished:
            return page.unusable(found)
        visit = _Visit(store, page, request, session, found)
        if action == "cancel":
            return visit.finish(EidFailure.CANCELLED)
        return visit.identify(cards.get(card), pin)

    return router


@dataclass(frozen=True)
class _Visit:
    """One request of the page for one open session."""

    store: EidMockStore
    page: _PageRenderer
    request: Request
    session_id: str
    session: Session

    def identify(self, card: TestCard | None, pin: str) -> Response:
        if card is None:
            return self.form(error=NO_CARD)
        if self.store.pin_blocked(card.card_id):
            return self.finish(EidFailure.PIN_BLOCKED)
        if _PIN_FORMAT.fullmatch(pin) is None:  # a typo is not a wrong PIN: no try is used up
            return self.form(error=BAD_PIN_FORMAT, selected=card.card_id)
        outcome = read_card(self.store, card, pin, self.session.sector)
        if isinstance(outcome, WrongPin):
            return self.form(error=wrong_pin_message(outcome.tries_left), selected=card.card_id)
        return self.finish(outcome)

    def finish(self, outcome: Outcome) -> Response:
        ref = self.store.finish(self.session_id, outcome)
        if ref is None:  # another request finished it first
            return self.page.message(FINISHED_SESSION, 409)
        target = with_query(self.session.return_url, session_id=self.session_id, result_ref=ref)
        return RedirectResponse(target, status_code=303, headers={"cache-control": "no-store"})

    def form(self, *, error: str = "", selected: str = "") -> HTMLResponse:
        action = str(self.request.url_for(CLIENT_PAGE))
        return self.page.form(action, self.session_id, self.session, error=error, selected=selected)


def with_query(url: str, **params: str) -> str:
    """`url` with these query parameters, replacing any of the same name already there."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*kept, *params.items()])))


class _PageRenderer:
    def __init__(self, cards: Mapping[str, TestCard]) -> None:
        self._cards = list(cards.values())

    def form(
        self,
        action: str,
        session_id: str,
        session: Session,
        *,
        error: str = "",
        selected: str = "",
    ) -> HTMLResponse:
        return self._render(
            200 if not error else 400,
            session_id=session_id,
            sector=session.sector,
            requested=[ATTRIBUTE_NAMES[name] for name in session.attributes],
            cards=self._cards,
            action=action,
            selected=selected,
            error=error,
        )

    def unusable(self, session: Session | None) -> HTMLResponse:
        if session is None:
            return self.message(UNKNOWN_SESSION, 404)
        return self.message(FINISHED_SESSION, 409)

    def message(self, error: str, status: int) -> HTMLResponse:
        return self._render(status, session_id="", error=error)

    def _render(self, status: int, **context: Any) -> HTMLResponse:
        html = _environment().get_template("client.html").render(**context)
        return HTMLResponse(html, status_code=status, headers=_HEADERS)
