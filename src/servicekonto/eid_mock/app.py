"""The mock eID-Server as a small FastAPI app: the JSON API, the stand-in eID client, health.

It speaks the contract in `servicekonto.eid.wire` (a JSON profile of BSI TR-03130), so the HTTP
adapter can be tested against a real server, and a local set-up can raise a person to trust
level 4 without a card reader. All state is in memory (`store.py`); time comes from the injected
clock, so the ten-minute lifetime of a result can be tested.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from servicekonto.clock import Clock, SystemClock
from servicekonto.eid_mock.api import RefusedError, api_router, failure_response
from servicekonto.eid_mock.cards import TEST_CARDS, TestCard
from servicekonto.eid_mock.client_page import client_router
from servicekonto.eid_mock.store import EidMockStore
from servicekonto.metadata import __version__

TITLE = "servicekonto eID-Server mock"
_DESCRIPTION = (
    "A stand-in for an eID-Server (BSI TR-03130) reading the online ID function of test cards. "
    "`POST /eid/v1/sessions` opens a session (useID) and names `client_url`, an HTML page that "
    "stands in for the person's eID client: pick a test card, enter the PIN 123456. The page "
    "sends the browser to `return_url?session_id=…&result_ref=…`, and `GET "
    "/eid/v1/sessions/{session_id}/result?ref=…` (getResult) gives the attributes once, or a "
    "`failure`."
)


class Health(BaseModel):
    status: Literal["ok"] = "ok"


def create_eid_mock_app(
    *, cards: Sequence[TestCard] = TEST_CARDS, clock: Clock | None = None
) -> FastAPI:
    """The mock over these cards (by default the shipped test cards) and this clock."""
    app = FastAPI(title=TITLE, version=__version__, description=_DESCRIPTION)
    store = EidMockStore(cards, clock or SystemClock())
    app.state.store = store
    app.include_router(api_router(store))
    app.include_router(client_router(store, {card.card_id: card for card in cards}))
    app.include_router(_health_router())
    app.add_exception_handler(RefusedError, failure_response)
    return app


def render_openapi() -> str:
    """The OpenAPI description, as committed in openapi/eid-mock.json (a test compares)."""
    spec = create_eid_mock_app(cards=()).openapi()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Health, summary="Process is alive")
    def healthz() -> Health:
        return Health()

    return router
