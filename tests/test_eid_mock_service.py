"""The mock eID-Server: its JSON API and the page standing in for the eID client, through the
ASGI app with redirects not followed, so every hop of a run is asserted."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import typer
from fastapi import FastAPI
from starlette.testclient import TestClient
from typer.testing import CliRunner

from servicekonto.cli.eid_mock import eid_mock_cli
from servicekonto.clock import FixedClock
from servicekonto.demo import DEMO_CITIZEN
from servicekonto.eid.port import EidFailure
from servicekonto.eid.wire import Attribute
from servicekonto.eid_mock.app import TITLE, create_eid_mock_app, render_openapi
from servicekonto.eid_mock.cards import TEST_CARDS, TEST_PIN, TestCard, pseudonym
from servicekonto.eid_mock.store import RESULT_LIFETIME, EidMockStore
from servicekonto.errors import ConfigurationError
from servicekonto.registry.csv_format import load_packaged_residents

REPOSITORY = Path(__file__).resolve().parents[1]
RETURN_URL = "https://servicekonto.test/eid/return"
SECTOR = "servicekonto.test"
START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
WRONG_PIN = "654321"
CARDS = {card.card_id: card for card in TEST_CARDS}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def app(clock: FixedClock) -> FastAPI:
    return create_eid_mock_app(clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def start(client: TestClient, **changes: Any) -> str:
    response = client.post(
        "/eid/v1/sessions", json={"return_url": RETURN_URL, "sector": SECTOR, **changes}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


def submit(client: TestClient, session_id: str, **fields: str) -> Any:
    return client.post("/client", data={"session": session_id, "action": "identify", **fields})


def returned(response: Any) -> dict[str, str]:
    """The query the browser brings back to the refresh address."""
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(RETURN_URL + "?")
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def run(client: TestClient, card_id: str, **changes: Any) -> tuple[str, str]:
    """A whole eID client run with the right PIN: the session id and the result reference."""
    session_id = start(client, **changes)
    back = returned(submit(client, session_id, card=card_id, pin=TEST_PIN))
    assert back["session_id"] == session_id
    return session_id, back["result_ref"]


def fetch(client: TestClient, session_id: str, ref: str) -> Any:
    return client.get(f"/eid/v1/sessions/{session_id}/result", params={"ref": ref})


def refused(response: Any, failure: EidFailure, status: int) -> None:
    assert (response.status_code, response.json()["failure"]) == (status, failure.value)


# --- opening a session -----------------------------------------------------------------------


def test_a_session_names_the_stand_in_client_page(client: TestClient) -> None:
    response = client.post("/eid/v1/sessions", json={"return_url": RETURN_URL, "sector": SECTOR})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"session_id", "client_url"}
    assert body["client_url"] == f"http://testserver/client?session={body['session_id']}"
    assert client.get(body["client_url"]).status_code == 200


def test_session_ids_are_random(client: TestClient) -> None:
    assert len({start(client) for _ in range(5)}) == 5


@pytest.mark.parametrize(
    "change",
    [
        {"return_url": "/eid/return"},
        {"return_url": "javascript:alert(1)"},
        {"return_url": "ftp://servicekonto.test/"},
        {"sector": ""},
        {"sector": 7},
        {"attributes": []},
        {"attributes": ["shoe_size"]},
        {"nickname": "x"},
    ],
)
def test_a_bad_session_request_is_refused(client: TestClient, change: dict[str, Any]) -> None:
    body = {"return_url": RETURN_URL, "sector": SECTOR, **change}
    assert client.post("/eid/v1/sessions", json=body).status_code == 422


# --- a run and its result --------------------------------------------------------------------


def test_a_run_gives_the_cards_data_once(client: TestClient) -> None:
    session_id, ref = run(client, "tobias")
    response = fetch(client, session_id, ref)
    assert response.status_code == 200
    assert response.json() == {
        "session_id": session_id,
        "given_names": "Tobias Finn",
        "family_names": "Rübsamen",
        "birth_name": "Schneider",
        "date_of_birth": "1974-12-27",
        "place_of_birth": "Koblenz",
        "place_of_residence": {
            "street": "Moselstraße",
            "house_number": "7",
            "zip_code": "56253",
            "city": "Treis-Karden",
            "country": "D",
        },
        "document_type": "ID",
        "restricted_id": hmac.new(b"T22000135-tobias", SECTOR.encode(), hashlib.sha256).hexdigest(),
    }
    refused(fetch(client, session_id, ref), EidFailure.RESULT_REPLAYED, 409)


def test_a_card_without_birth_name_omits_it(client: TestClient) -> None:
    body = fetch(client, *run(client, "lena")).json()
    assert "birth_name" not in body
    assert body["given_names"] == "Lena"


def test_only_the_attributes_asked_for_are_read(client: TestClient) -> None:
    asked = ["given_names", "restricted_id"]
    session_id, ref = run(client, "lena", attributes=asked)
    assert set(fetch(client, session_id, ref).json()) == {"session_id", *asked}


def test_the_pseudonym_is_stable_per_card_and_sector(client: TestClient) -> None:
    def pseudonym_of(card_id: str, sector: str) -> str:
        return str(fetch(client, *run(client, card_id, sector=sector)).json()["restricted_id"])

    first = pseudonym_of("lena", SECTOR)
    assert first == pseudonym_of("lena", SECTOR)
    assert first != pseudonym_of("lena", "another.sector")
    assert first != pseudonym_of("jonas", SECTOR)
    assert len(first) == 64


def test_the_refresh_address_keeps_its_query_and_gets_fresh_values(client: TestClient) -> None:
    session_id = start(client, return_url=RETURN_URL + "?flow=abc&session_id=forged")
    response = submit(client, session_id, card="lena", pin=TEST_PIN)
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["flow"] == ["abc"]
    assert query["session_id"] == [session_id]
    assert len(query["result_ref"][0]) >= 40


def test_cancelling_comes_back_as_cancelled(client: TestClient) -> None:
    session_id = start(client)
    back = returned(client.post("/client", data={"session": session_id, "action": "cancel"}))
    refused(fetch(client, session_id, back["result_ref"]), EidFailure.CANCELLED, 403)


@pytest.mark.parametrize(
    ("card_id", "failure"),
    [
        ("sophie", EidFailure.CARD_EXPIRED),
        ("markus", EidFailure.CARD_REVOKED),
        ("julia", EidFailure.PIN_BLOCKED),
    ],
)
def test_card_problems_come_back_as_failures(
    client: TestClient, card_id: str, failure: EidFailure
) -> None:
    refused(fetch(client, *run(client, card_id)), failure, 403)


def test_the_expired_card_was_good_before_its_expiry_date() -> None:
    clock = FixedClock(datetime(2024, 1, 22, 12, 0, tzinfo=UTC))
    with TestClient(create_eid_mock_app(clock=clock), follow_redirects=False) as client:
        assert fetch(client, *run(client, "sophie")).status_code == 200
        clock.advance(timedelta(days=1))
        refused(fetch(client, *run(client, "sophie")), EidFailure.CARD_EXPIRED, 403)


# --- refusing results ------------------------------------------------------------------------


def test_a_result_lives_ten_minutes(client: TestClient, clock: FixedClock) -> None:
    in_time, late = run(client, "lena"), run(client, "jonas")
    clock.advance(RESULT_LIFETIME)
    assert fetch(client, *in_time).status_code == 200
    clock.advance(timedelta(seconds=1))
    refused(fetch(client, *late), EidFailure.RESULT_EXPIRED, 410)
    refused(fetch(client, *late), EidFailure.RESULT_REPLAYED, 409)


def test_a_result_of_another_session_is_refused_and_stays_usable(client: TestClient) -> None:
    victim_session, victim_ref = run(client, "lena")
    attacker_session = start(client)
    refused(fetch(client, attacker_session, victim_ref), EidFailure.SESSION_MISMATCH, 400)
    assert fetch(client, victim_session, victim_ref).status_code == 200


def test_an_unknown_reference_or_session_is_refused(client: TestClient) -> None:
    session_id, ref = run(client, "lena")
    refused(fetch(client, session_id, "made-up"), EidFailure.SESSION_MISMATCH, 400)
    refused(fetch(client, "made-up", ref), EidFailure.UNKNOWN_SESSION, 404)
    assert fetch(client, session_id, ref).status_code == 200


def test_a_result_without_reference_is_invalid(client: TestClient) -> None:
    session_id = start(client)
    assert client.get(f"/eid/v1/sessions/{session_id}/result").status_code == 422


def test_only_one_of_many_simultaneous_fetches_gets_the_result() -> None:
    store = EidMockStore(TEST_CARDS, FixedClock(START))
    session_id = store.open_session(RETURN_URL, SECTOR, list(Attribute))
    ref = store.finish(session_id, TEST_CARDS[1].attributes(SECTOR))
    assert ref is not None
    barrier = threading.Barrier(8)
    outcomes: list[object] = []

    def take() -> None:
        barrier.wait()
        outcomes.append(store.take_result(session_id, ref))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(EidFailure.RESULT_REPLAYED) == 7


# --- the PIN ---------------------------------------------------------------------------------


def test_a_wrong_pin_is_shown_and_three_block_the_card(client: TestClient) -> None:
    session_id = start(client)
    first = submit(client, session_id, card="lena", pin=WRONG_PIN)
    assert first.status_code == 400
    assert "Die PIN ist falsch. Sie haben noch 2 Versuche" in first.text
    assert 'role="alert"' in first.text
    assert 'id="card-lena" value="lena" required checked' in first.text, "the choice is kept"
    assert WRONG_PIN not in first.text
    second = submit(client, session_id, card="lena", pin=WRONG_PIN)
    assert "noch ein Versuch" in second.text
    back = returned(submit(client, session_id, card="lena", pin=WRONG_PIN))
    refused(fetch(client, session_id, back["result_ref"]), EidFailure.PIN_BLOCKED, 403)
    # The counter is the card's: the right PIN in a new session does not help any more.
    refused(fetch(client, *run(client, "lena")), EidFailure.PIN_BLOCKED, 403)
    assert fetch(client, *run(client, "jonas")).status_code == 200


def test_the_right_pin_starts_the_count_again(client: TestClient) -> None:
    for _ in range(2):
        session_id = start(client)
        for _ in range(2):
            assert submit(client, session_id, card="lena", pin=WRONG_PIN).status_code == 400
        back = returned(submit(client, session_id, card="lena", pin=TEST_PIN))
        assert fetch(client, session_id, back["result_ref"]).status_code == 200


@pytest.mark.parametrize("pin", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"])
def test_a_malformed_pin_uses_up_no_try(client: TestClient, pin: str) -> None:
    session_id = start(client)
    for _ in range(4):
        response = submit(client, session_id, card="lena", pin=pin)
        assert response.status_code == 400
        assert "Die PIN besteht aus sechs Ziffern." in response.text
    assert returned(submit(client, session_id, card="lena", pin=TEST_PIN))


def test_no_card_chosen_is_shown_on_the_page(client: TestClient) -> None:
    session_id = start(client)
    response = submit(client, session_id, pin=TEST_PIN)
    assert response.status_code == 400
    assert "Bitte wählen Sie einen Testausweis aus." in response.text
    assert returned(submit(client, session_id, card="lena", pin=TEST_PIN))


def test_a_session_gives_one_result_only(client: TestClient) -> None:
    session_id, _ = run(client, "lena")
    assert client.get("/client", params={"session": session_id}).status_code == 409
    again = submit(client, session_id, card="jonas", pin=TEST_PIN)
    assert again.status_code == 409
    assert "bereits abgeschlossen" in again.text


def test_an_unknown_session_gets_a_german_message(client: TestClient) -> None:
    for response in (
        client.get("/client", params={"session": "made-up"}),
        client.get("/client"),
        submit(client, "made-up", card="lena", pin=TEST_PIN),
    ):
        assert response.status_code == 404
        assert "Dieser Ausweisvorgang ist unbekannt." in response.text
        assert '<html lang="de">' in response.text


# --- the page itself -------------------------------------------------------------------------


class _PageStructure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.buttons: list[str] = []
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_button = tag == "button"

    def handle_data(self, data: str) -> None:
        if self._in_button and data.strip():
            self.buttons.append(data.strip())
            self._in_button = False

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def test_the_page_is_german_labelled_and_needs_no_script(client: TestClient) -> None:
    response = client.get("/client", params={"session": start(client)})
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page = _PageStructure()
    page.feed(response.text)
    assert page.named("html") == [{"lang": "de"}]
    assert len(page.named("h1")) == 1
    assert page.named("script") == []
    labelled = {attrs["for"] for attrs in page.named("label")}
    fields = [attrs for attrs in page.named("input") if attrs["type"] != "hidden"]
    assert len(fields) == len(TEST_CARDS) + 1
    assert all(attrs["id"] in labelled for attrs in fields)
    assert page.buttons == ["Ausweisen", "Abbrechen"]
    assert "Oleksandr Schewtschenko" in response.text
    assert "abgelaufen" in response.text


def test_the_page_escapes_what_a_service_sent(client: TestClient) -> None:
    session_id = start(client, sector="<script>alert(1)</script>")
    assert "<script>" not in client.get("/client", params={"session": session_id}).text


# --- the test cards --------------------------------------------------------------------------


def _as_registry_fields(card: TestCard) -> tuple[object, ...]:
    holder = card.holder
    address = holder.address
    return (
        holder.given_names,
        holder.family_name,
        holder.birth_name,
        holder.birth_date,
        holder.birth_place,
        (address.street, address.house_number, address.postal_code, address.city),
    )


def test_cards_of_residents_match_the_packaged_registry_exactly() -> None:
    residents = {resident.resident_id: resident for resident in load_packaged_residents()}
    matching = [card for card in TEST_CARDS if card.registry_resident_id is not None]
    assert len(matching) >= 3
    assert any(card.holder.birth_name for card in matching)
    for card in matching:
        resident = residents[str(card.registry_resident_id)]
        address = resident.address
        assert _as_registry_fields(card) == (
            resident.given_names,
            resident.family_name,
            resident.birth_name,
            resident.birth_date,
            resident.birth_place,
            (address.street, address.house_number, address.postal_code, address.city),
        )


def test_cards_of_strangers_match_no_resident() -> None:
    residents = {(r.family_name, r.birth_date) for r in load_packaged_residents()}
    strangers = [card for card in TEST_CARDS if card.registry_resident_id is None]
    assert {card.card_id for card in strangers} == {"erika", "kai"}
    assert all((c.holder.family_name, c.holder.birth_date) not in residents for c in strangers)


def test_the_demo_citizen_has_a_card() -> None:
    card = CARDS["erika"]
    citizen = DEMO_CITIZEN
    assert _as_registry_fields(card) == (
        citizen.given_names,
        citizen.family_name,
        citizen.birth_name,
        citizen.birth_date,
        citizen.birth_place,
        (citizen.street, citizen.house_number, citizen.postal_code, citizen.city),
    )
    assert not (card.revoked or card.pin_blocked or card.is_expired(date.today()))


def test_the_set_has_one_card_for_each_problem() -> None:
    today = date(2025, 3, 1)
    assert [c.card_id for c in TEST_CARDS if c.is_expired(today)] == ["sophie"]
    assert [c.card_id for c in TEST_CARDS if c.revoked] == ["markus"]
    assert [c.card_id for c in TEST_CARDS if c.pin_blocked] == ["julia"]
    assert {c.document_type for c in TEST_CARDS} == {"ID", "AR"}
    assert len(CARDS) == len({c.serial for c in TEST_CARDS}) == len(TEST_CARDS)
    assert {c.pin for c in TEST_CARDS} == {TEST_PIN}


def test_pseudonyms_of_the_cards_differ() -> None:
    assert len({pseudonym(card.serial, SECTOR) for card in TEST_CARDS}) == len(TEST_CARDS)


# --- operations ------------------------------------------------------------------------------


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_committed_openapi_description_is_current() -> None:
    committed = (REPOSITORY / "openapi" / "eid-mock.json").read_text(encoding="utf-8")
    assert committed == render_openapi(), "regenerate openapi/eid-mock.json"


def test_openapi_describes_the_api_and_not_the_page() -> None:
    spec = create_eid_mock_app().openapi()
    assert spec["info"]["title"] == TITLE
    assert set(spec["paths"]) == {
        "/eid/v1/sessions",
        "/eid/v1/sessions/{session_id}/result",
        "/healthz",
    }
    responses = spec["paths"]["/eid/v1/sessions/{session_id}/result"]["get"]["responses"]
    failure = {"schema": {"$ref": "#/components/schemas/FailureOut"}}
    assert all(
        responses[status]["content"]["application/json"] == failure
        for status in ("400", "403", "404", "409", "410")
    )


def _servicekonto() -> typer.Typer:
    """The command as `cli/__init__.py` mounts it (a lone command would swallow its name)."""
    root = typer.Typer()
    root.add_typer(eid_mock_cli, name="eid-mock")
    return root


def test_the_cli_refuses_a_port_out_of_range() -> None:
    result = CliRunner().invoke(_servicekonto(), ["eid-mock", "serve", "--port", "70000"])
    assert isinstance(result.exception, ConfigurationError)


def test_the_cli_serves_on_8082_by_default() -> None:
    result = CliRunner().invoke(_servicekonto(), ["eid-mock", "serve", "--help"])
    assert result.exit_code == 0
    assert "8082" in result.output
