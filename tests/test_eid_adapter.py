"""The HTTP eID adapter: against `httpx.MockTransport` handlers that check what was sent and
answer badly on purpose, and against the real mock eID-Server — in process through starlette's
TestClient (an `httpx.Client`) and over a real socket (uvicorn in a thread)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient
from structlog.testing import capture_logs

from servicekonto.clock import FixedClock
from servicekonto.eid.http_adapter import HttpEidServer
from servicekonto.eid.port import EidAddress, EidAttributes, EidError, EidFailure, EidSession
from servicekonto.eid_mock.app import create_eid_mock_app
from servicekonto.eid_mock.cards import TEST_CARDS, TEST_PIN
from servicekonto.registry.csv_format import load_packaged_residents

Handler = Callable[[httpx.Request], httpx.Response]
BASE_URL = "http://eid.test/"
SECTOR = "servicekonto.test"
RETURN_URL = "https://servicekonto.test/eid/return"
SESSION_ID = "s3ss/10n"  # a slash, to show the id is one path segment
RESULT_REF = "r3f&x=1"
PSEUDONYM = "ab" * 32
RESULT_JSON: dict[str, Any] = {
    "session_id": SESSION_ID,
    "given_names": "Erika",
    "family_names": "Mustermann",
    "birth_name": "Gabler",
    "date_of_birth": "1964-08-12",
    "place_of_birth": "Berlin",
    "place_of_residence": {
        "street": "Musterstraße",
        "house_number": "1",
        "zip_code": "56812",
        "city": "Cochem",
        "country": "D",
    },
    "document_type": "ID",
    "restricted_id": PSEUDONYM,
}
ATTRIBUTES = EidAttributes(
    given_names="Erika",
    family_name="Mustermann",
    birth_name="Gabler",
    birth_date=date(1964, 8, 12),
    birth_place="Berlin",
    address=EidAddress("Musterstraße", "1", "56812", "Cochem", "D"),
    document_type="ID",
    pseudonym=PSEUDONYM,
)
# Whatever fails, none of these may appear in an error message or a log line.
PERSONAL_DATA = (
    "Erika",
    "Mustermann",
    "Gabler",
    "Musterstra",
    "1964",
    "Berlin",
    SESSION_ID,
    RESULT_REF,
)
CARDS = {card.card_id: card for card in TEST_CARDS}


def adapter_for(handler: Handler) -> HttpEidServer:
    return HttpEidServer(BASE_URL, httpx.Client(transport=httpx.MockTransport(handler)), SECTOR)


def answer(status: int, body: object = None, **options: Any) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, **options)
        return httpx.Response(status, json=body, **options)

    return handler


def raising(error: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    return handler


def result_fails(handler: Handler, failure: EidFailure) -> str:
    with capture_logs() as logs, pytest.raises(EidError) as raised:
        adapter_for(handler).result(SESSION_ID, RESULT_REF)
    assert raised.value.failure is failure
    said = str(raised.value) + json.dumps(logs, default=str)
    assert not [word for word in PERSONAL_DATA if word in said]
    return str(raised.value)


def start_fails(handler: Handler, failure: EidFailure) -> None:
    with pytest.raises(EidError) as raised:
        adapter_for(handler).start(RETURN_URL)
    assert raised.value.failure is failure


# --- what is sent, and what comes back -------------------------------------------------------


def test_start_opens_a_session_for_all_attributes_of_our_sector() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.url == "http://eid.test/eid/v1/sessions"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["accept"] == "application/json"
        assert json.loads(request.content) == {
            "return_url": RETURN_URL,
            "sector": SECTOR,
            "attributes": [
                "given_names",
                "family_names",
                "birth_name",
                "date_of_birth",
                "place_of_birth",
                "place_of_residence",
                "document_type",
                "restricted_id",
            ],
        }
        client_url = "http://eid.test/client?session=abc"
        return httpx.Response(201, json={"session_id": "abc", "client_url": client_url})

    session = adapter_for(handler).start(RETURN_URL)
    assert session == EidSession("abc", "http://eid.test/client?session=abc")


def test_result_asks_for_our_session_and_returns_the_attributes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET"
        assert request.url.raw_path == b"/eid/v1/sessions/s3ss%2F10n/result?ref=r3f%26x%3D1"
        assert request.url.params["ref"] == RESULT_REF
        return httpx.Response(200, json=RESULT_JSON)

    assert adapter_for(handler).result(SESSION_ID, RESULT_REF) == ATTRIBUTES


def test_an_absent_birth_name_is_none() -> None:
    body = {key: value for key, value in RESULT_JSON.items() if key != "birth_name"}
    attributes = adapter_for(answer(200, body)).result(SESSION_ID, RESULT_REF)
    assert attributes.birth_name is None


def test_our_own_bad_return_url_is_refused_before_any_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing may be sent")

    with pytest.raises(ValueError, match="absolute http"):
        adapter_for(handler).start("/eid/return")


# --- failures the eID-Server reports ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "failure"),
    [
        (403, EidFailure.CANCELLED),
        (403, EidFailure.CARD_EXPIRED),
        (403, EidFailure.CARD_REVOKED),
        (403, EidFailure.PIN_BLOCKED),
        (404, EidFailure.UNKNOWN_SESSION),
        (400, EidFailure.SESSION_MISMATCH),
        (409, EidFailure.RESULT_REPLAYED),
        (410, EidFailure.RESULT_EXPIRED),
    ],
)
def test_reported_failures_reach_the_caller(status: int, failure: EidFailure) -> None:
    message = result_fails(answer(status, {"failure": failure.value, "detail": "x"}), failure)
    assert failure.value in message


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"detail": "Not Found"},
        {"failure": "bad_answer"},
        {"failure": "server_unavailable"},
        {"failure": "sunspots"},
        {"failure": 3},
    ],
)
def test_a_refusal_without_a_known_failure_is_a_bad_answer(body: object) -> None:
    result_fails(answer(404, body), EidFailure.BAD_ANSWER)


# --- the eID-Server does not answer usefully -------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError, httpx.RemoteProtocolError],
)
def test_a_server_that_does_not_answer_is_unavailable(error: type[httpx.TransportError]) -> None:
    message = result_fails(raising(error), EidFailure.SERVER_UNAVAILABLE)
    assert error.__name__ in message
    start_fails(raising(error), EidFailure.SERVER_UNAVAILABLE)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_server_errors_are_unavailable(status: int) -> None:
    result_fails(answer(status, {"failure": "card_expired"}), EidFailure.SERVER_UNAVAILABLE)
    start_fails(answer(status), EidFailure.SERVER_UNAVAILABLE)


@pytest.mark.parametrize(
    "make",
    [
        lambda: httpx.Response(200, content=b"<html>Wartungsarbeiten</html>"),
        lambda: httpx.Response(200, content=b""),
        lambda: httpx.Response(200, json=[RESULT_JSON]),
        lambda: httpx.Response(200, json=None),
        lambda: httpx.Response(302, headers={"location": "http://elsewhere.test/"}),
        lambda: httpx.Response(
            200, stream=httpx.ByteStream(b"not gzip"), headers={"content-encoding": "gzip"}
        ),
    ],
)
def test_garbage_is_a_bad_answer(make: Callable[[], httpx.Response]) -> None:
    result_fails(lambda request: make(), EidFailure.BAD_ANSWER)


@pytest.mark.parametrize(
    "change",
    [
        {"given_names": 7},
        {"given_names": ""},
        {"family_names": None},
        {"date_of_birth": "12.08.1964"},
        {"date_of_birth": "1964-02-30"},
        {"date_of_birth": 19640812},
        {"place_of_residence": "Musterstraße 1, 56812 Cochem"},
        {"place_of_residence": {**RESULT_JSON["place_of_residence"], "zip_code": 56812}},
        {"document_type": "Personalausweis"},
        {"restricted_id": "not hex"},
        {"restricted_id": "AB" * 32},
        {"restricted_id": "ab"},
        {"session_id": "another-session"},
    ],
)
def test_wrong_field_types_and_values_are_a_bad_answer(change: dict[str, object]) -> None:
    result_fails(answer(200, {**RESULT_JSON, **change}), EidFailure.BAD_ANSWER)


@pytest.mark.parametrize(
    "missing", ["given_names", "family_names", "date_of_birth", "place_of_residence"]
)
def test_a_result_lacking_an_attribute_is_a_bad_answer(missing: str) -> None:
    body = {key: value for key, value in RESULT_JSON.items() if key != missing}
    assert missing in result_fails(answer(200, body), EidFailure.BAD_ANSWER)


@pytest.mark.parametrize(
    "body",
    [
        {"session_id": "abc"},
        {"session_id": "abc", "client_url": "/client?session=abc"},
        {"session_id": "abc", "client_url": "javascript:alert(1)"},
        {"session_id": 7, "client_url": "http://eid.test/client"},
        {"session_id": "", "client_url": "http://eid.test/client"},
    ],
)
def test_a_bad_start_answer_is_a_bad_answer(body: object) -> None:
    start_fails(answer(201, body), EidFailure.BAD_ANSWER)


def test_a_start_answer_with_the_wrong_status_is_a_bad_answer() -> None:
    body = {"session_id": "abc", "client_url": "http://eid.test/client"}
    start_fails(answer(200, body), EidFailure.BAD_ANSWER)
    start_fails(answer(422, {"detail": []}), EidFailure.BAD_ANSWER)


# --- against the real mock, in process -------------------------------------------------------


def browse(http: httpx.Client, client_url: str, card_id: str, pin: str = TEST_PIN) -> str:
    """What the person's browser does on the stand-in page: the URL it comes back to."""
    page = http.get(client_url)
    assert page.status_code == 200
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    session = re.search(r'name="session" value="([^"]+)"', page.text)
    assert action is not None and session is not None
    fields = {"session": session[1], "card": card_id, "pin": pin, "action": "identify"}
    response = http.post(action[1], data=fields, follow_redirects=False)
    assert response.status_code == 303
    return str(response.headers["location"])


def came_back(location: str) -> tuple[str, str]:
    assert location.startswith(RETURN_URL + "?")
    query = parse_qs(urlsplit(location).query)
    return query["session_id"][0], query["result_ref"][0]


def test_an_expired_result_is_refused_through_the_adapter() -> None:
    clock = FixedClock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    with TestClient(create_eid_mock_app(clock=clock)) as http:
        eid = HttpEidServer("http://testserver", http, SECTOR)
        session = eid.start(RETURN_URL)
        _, ref = came_back(browse(http, session.client_url, "lena"))
        clock.advance(timedelta(minutes=11))
        with pytest.raises(EidError) as raised:
            eid.result(session.session_id, ref)
    assert raised.value.failure is EidFailure.RESULT_EXPIRED


# --- against the real mock, over a real socket -----------------------------------------------


@pytest.fixture(scope="module")
def live_mock() -> Iterator[str]:
    """The mock eID-Server with the shipped cards, served by uvicorn on a free port."""
    config = uvicorn.Config(
        create_eid_mock_app(),
        host="127.0.0.1",
        port=0,
        lifespan="off",
        ws="none",
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the mock did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def test_a_whole_run_over_http_reads_a_registry_resident(
    live_mock: str, http: httpx.Client
) -> None:
    eid = HttpEidServer(live_mock + "/", http, SECTOR)
    session = eid.start(RETURN_URL)
    assert session.client_url.startswith(live_mock + "/client?session=")
    session_id, ref = came_back(browse(http, session.client_url, "tobias"))
    assert session_id == session.session_id
    attributes = eid.result(session.session_id, ref)
    assert attributes == CARDS["tobias"].attributes(SECTOR)
    resident = next(r for r in load_packaged_residents() if r.resident_id == "R000007")
    assert (attributes.family_name, attributes.birth_name, attributes.birth_date) == (
        resident.family_name,
        resident.birth_name,
        resident.birth_date,
    )
    with pytest.raises(EidError) as replayed:
        eid.result(session.session_id, ref)
    assert replayed.value.failure is EidFailure.RESULT_REPLAYED


def test_a_result_brought_to_another_session_is_refused_over_http(
    live_mock: str, http: httpx.Client
) -> None:
    eid = HttpEidServer(live_mock, http, SECTOR)
    victim, attacker = eid.start(RETURN_URL), eid.start(RETURN_URL)
    _, victims_ref = came_back(browse(http, victim.client_url, "lena"))
    with pytest.raises(EidError) as raised:
        eid.result(attacker.session_id, victims_ref)
    assert raised.value.failure is EidFailure.SESSION_MISMATCH
    assert eid.result(victim.session_id, victims_ref).given_names == "Lena"


@pytest.mark.parametrize(
    ("card_id", "failure"),
    [("markus", EidFailure.CARD_REVOKED), ("sophie", EidFailure.CARD_EXPIRED)],
)
def test_card_problems_over_http(
    live_mock: str, http: httpx.Client, card_id: str, failure: EidFailure
) -> None:
    eid = HttpEidServer(live_mock, http, SECTOR)
    session = eid.start(RETURN_URL)
    _, ref = came_back(browse(http, session.client_url, card_id))
    with pytest.raises(EidError) as raised:
        eid.result(session.session_id, ref)
    assert raised.value.failure is failure


def test_an_unknown_session_over_http(live_mock: str, http: httpx.Client) -> None:
    with pytest.raises(EidError) as raised:
        HttpEidServer(live_mock, http, SECTOR).result("made-up", "made-up")
    assert raised.value.failure is EidFailure.UNKNOWN_SESSION


def test_a_server_that_accepts_but_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts connections; nobody ever reads or answers
        base_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with (
            httpx.Client(timeout=0.2) as http,
            pytest.raises(EidError, match="ReadTimeout") as raised,
        ):
            HttpEidServer(base_url, http, SECTOR).start(RETURN_URL)
    assert raised.value.failure is EidFailure.SERVER_UNAVAILABLE


def test_nothing_listens_on_a_closed_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with httpx.Client(timeout=2) as http, pytest.raises(EidError, match="ConnectError") as raised:
        HttpEidServer(closed, http, SECTOR).result("s", "r")
    assert raised.value.failure is EidFailure.SERVER_UNAVAILABLE
