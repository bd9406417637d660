"""The standalone mock registry: its JSON contract through the ASGI app, and the HTTP adapter
talking to it over a real socket (uvicorn) with the packaged synthetic residents."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.testclient import TestClient

from servicekonto.registry.csv_format import load_packaged_residents
from servicekonto.registry.http_adapter import HttpRegistry
from servicekonto.registry.port import (
    Address,
    LookupOutcome,
    RegistryQuery,
    RegistryUnavailableError,
    ResidentRecord,
)
from servicekonto.registry.wire import request_from_query
from servicekonto.registry_mock.app import (
    TITLE,
    create_registry_mock_app,
    create_registry_mock_app_from_env,
    render_openapi,
)

REPOSITORY = Path(__file__).resolve().parents[1]
PROBLEM = "application/problem+json"

ANNA = ResidentRecord(
    resident_id="R000001",
    academic_title=None,
    given_names="Anna Maria",
    family_name="Wollscheid",
    birth_name=None,
    birth_date=date(1984, 3, 7),
    birth_place="Mayen",
    address=Address("Moselstraße", "12", "56812", "Cochem"),
    municipality="Cochem",
)
# Twins in one house who differ only in a middle name: "Lena" alone matches both.
LENA_SOPHIE = ResidentRecord(
    resident_id="R000002",
    academic_title="Dr.",
    given_names="Lena Sophie",
    family_name="Kaltenborn",
    birth_name="Hess",
    birth_date=date(1990, 6, 1),
    birth_place="Zell (Mosel)",
    address=Address("Marktplatz", "3", "56856", "Zell (Mosel)"),
    municipality="Zell",
)
LENA_MARIE = ResidentRecord(
    **{**LENA_SOPHIE.__dict__, "resident_id": "R000003", "given_names": "Lena Marie"}
)
RESIDENTS = [ANNA, LENA_SOPHIE, LENA_MARIE]


def query_for(resident: ResidentRecord, **changes: Any) -> RegistryQuery:
    fields = {
        "given_names": resident.given_names,
        "family_name": resident.family_name,
        "birth_name": resident.birth_name,
        "birth_date": resident.birth_date,
        "address": resident.address,
    }
    return RegistryQuery(**{**fields, **changes})


def lookup_body(query: RegistryQuery) -> dict[str, Any]:
    return request_from_query(query).model_dump(mode="json")


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_registry_mock_app(RESIDENTS)) as test_client:
        yield test_client


# --- the contract, through the ASGI app ------------------------------------------------------


def test_a_single_match_names_the_resident(client: TestClient) -> None:
    response = client.post("/v1/lookup", json=lookup_body(query_for(ANNA, given_names="Anna")))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "outcome": "match",
        "resident": {
            "resident_id": "R000001",
            "given_names": "Anna Maria",
            "family_name": "Wollscheid",
            "birth_date": "1984-03-07",
            "birth_place": "Mayen",
            "street": "Moselstraße",
            "house_number": "12",
            "postal_code": "56812",
            "city": "Cochem",
            "municipality": "Cochem",
        },
    }


def test_no_match_names_no_one(client: TestClient) -> None:
    query = query_for(ANNA, address=Address("Moselstraße", "14", "56812", "Cochem"))
    response = client.post("/v1/lookup", json=lookup_body(query))
    assert (response.status_code, response.json()) == (200, {"outcome": "no_match"})


def test_an_ambiguous_answer_names_no_one(client: TestClient) -> None:
    response = client.post(
        "/v1/lookup", json=lookup_body(query_for(LENA_SOPHIE, given_names="Lena"))
    )
    assert (response.status_code, response.json()) == (200, {"outcome": "ambiguous"})
    assert "Kaltenborn" not in response.text


def test_the_middle_name_tells_the_twins_apart(client: TestClient) -> None:
    response = client.post("/v1/lookup", json=lookup_body(query_for(LENA_MARIE)))
    assert response.json()["resident"]["resident_id"] == "R000003"
    assert response.json()["resident"]["academic_title"] == "Dr."


def test_a_resident_by_id(client: TestClient) -> None:
    response = client.get("/v1/residents/R000002")
    assert response.status_code == 200
    assert response.json()["given_names"] == "Lena Sophie"
    assert response.json()["birth_name"] == "Hess"


def test_an_unknown_resident_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/v1/residents/R999999")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "No resident with this id.",
        "instance": "/v1/residents/R999999",
    }


def test_an_unknown_path_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/v2/lookup")
    assert (response.status_code, response.headers["content-type"]) == (404, PROBLEM)


@pytest.mark.parametrize("birth_date", ["07.03.1984", "19840307", "1984-02-30", 448070400, None])
def test_a_bad_birth_date_is_a_422_problem_that_does_not_echo_the_input(
    client: TestClient, birth_date: object
) -> None:
    body = {**lookup_body(query_for(ANNA)), "birth_date": birth_date}
    response = client.post("/v1/lookup", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert (problem["title"], problem["status"]) == ("Invalid request", 422)
    assert [error["loc"] for error in problem["errors"]] == [["body", "birth_date"]]
    assert "Wollscheid" not in response.text
    assert str(birth_date) not in response.text


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"family_name": 7}, ["body", "family_name"]),
        ({"family_name": ""}, ["body", "family_name"]),
        ({"nickname": "Anni"}, ["body", "nickname"]),
        ({"city": "x" * 201}, ["body", "city"]),
    ],
)
def test_the_request_schema_is_strict(
    client: TestClient, change: dict[str, object], location: list[str]
) -> None:
    response = client.post("/v1/lookup", json={**lookup_body(query_for(ANNA)), **change})
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["errors"]] == [location]


def test_a_body_that_is_not_json_is_a_422_problem(client: TestClient) -> None:
    response = client.post(
        "/v1/lookup", content=b"given_names=Anna", headers={"content-type": "application/json"}
    )
    assert (response.status_code, response.headers["content-type"]) == (422, PROBLEM)


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_injected_failures_answer_503_then_recover() -> None:
    app = create_registry_mock_app(RESIDENTS, fail_next=2)
    with TestClient(app) as client:
        statuses = [client.get("/v1/residents/R000001").status_code for _ in range(3)]
        app.state.faults.fail_next = 1
        assert client.get("/v1/residents/R000001").status_code == 503
    assert statuses == [503, 503, 200]


def test_health_is_not_subject_to_injected_failures() -> None:
    with TestClient(create_registry_mock_app(RESIDENTS, fail_next=1)) as client:
        assert client.get("/healthz").status_code == 200
        response = client.post("/v1/lookup", json=lookup_body(query_for(ANNA)))
    assert (response.status_code, response.headers["content-type"]) == (503, PROBLEM)


# --- the OpenAPI description -----------------------------------------------------------------


def test_committed_openapi_description_is_current() -> None:
    committed = (REPOSITORY / "openapi" / "registry-mock.json").read_text(encoding="utf-8")
    assert committed == render_openapi(), "regenerate openapi/registry-mock.json"


def test_openapi_describes_the_problems() -> None:
    spec = create_registry_mock_app([]).openapi()
    assert spec["info"]["title"] == TITLE
    resident = spec["paths"]["/v1/residents/{resident_id}"]["get"]["responses"]
    lookup = spec["paths"]["/v1/lookup"]["post"]["responses"]
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    assert resident["404"]["content"] == {PROBLEM: problem}
    assert lookup["422"]["content"] == {PROBLEM: problem}
    assert {"Problem", "FieldProblem", "LookupRequest", "LookupResponse", "ResidentOut"} <= set(
        spec["components"]["schemas"]
    )


# --- the HTTP adapter against a real server --------------------------------------------------


@dataclass
class RunningMock:
    app: FastAPI
    base_url: str


@pytest.fixture(scope="module")
def packaged() -> list[ResidentRecord]:
    return load_packaged_residents()


@pytest.fixture(scope="module")
def server() -> Iterator[RunningMock]:
    """The mock over the packaged residents, served by uvicorn on a free port of 127.0.0.1."""
    app = create_registry_mock_app_from_env()
    # No logging set-up of uvicorn's own: it would replace the test run's.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", ws="none", log_config=None, access_log=False
    )
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    try:
        _wait_until_started(uvicorn_server, thread)
        port = uvicorn_server.servers[0].sockets[0].getsockname()[1]
        yield RunningMock(app, f"http://127.0.0.1:{port}")
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the mock registry did not start within 10 s")
        time.sleep(0.02)


@pytest.fixture
def mock(server: RunningMock) -> Iterator[RunningMock]:
    yield server
    server.app.state.faults.fail_next = 0
    server.app.state.faults.delay_seconds = 0.0


Adapter = Callable[..., HttpRegistry]


@pytest.fixture
def adapter(mock: RunningMock) -> Iterator[Adapter]:
    """Makes HTTP adapters for the running mock; their connections are closed afterwards."""
    with ExitStack() as clients:

        def make(sleeps: list[float], timeout: float = 5.0, **options: Any) -> HttpRegistry:
            client = clients.enter_context(httpx.Client(base_url=mock.base_url, timeout=timeout))
            return HttpRegistry(client, sleep=sleeps.append, **options)

        yield make


def sole_birthday_resident(residents: list[ResidentRecord]) -> ResidentRecord:
    """A resident nobody else shares a birth date with: their own data must match them alone."""
    births = Counter(resident.birth_date for resident in residents)
    return next(resident for resident in residents if births[resident.birth_date] == 1)


def test_a_real_lookup_over_the_packaged_residents(
    adapter: Adapter, packaged: list[ResidentRecord]
) -> None:
    resident = sole_birthday_resident(packaged)
    registry = adapter([])
    result = registry.lookup(query_for(resident))
    assert (result.outcome, result.resident) == (LookupOutcome.MATCH, resident)
    assert registry.resident(resident.resident_id) == resident


def test_a_real_no_match_and_an_unknown_resident(
    adapter: Adapter, packaged: list[ResidentRecord]
) -> None:
    resident = sole_birthday_resident(packaged)
    registry = adapter([])
    stranger = query_for(resident, family_name=resident.family_name + "-Unbekannt")
    assert registry.lookup(stranger).outcome is LookupOutcome.NO_MATCH
    assert registry.resident("R999999999999") is None


def test_the_adapter_rides_out_two_failures_of_the_real_server(
    mock: RunningMock, adapter: Adapter, packaged: list[ResidentRecord]
) -> None:
    mock.app.state.faults.fail_next = 2
    sleeps: list[float] = []
    resident = sole_birthday_resident(packaged)
    assert adapter(sleeps).lookup(query_for(resident)).outcome is LookupOutcome.MATCH
    assert sleeps == [0.2, 0.4]


def test_a_slow_server_trips_the_client_timeout(
    mock: RunningMock, adapter: Adapter, packaged: list[ResidentRecord]
) -> None:
    mock.app.state.faults.delay_seconds = 0.5
    sleeps: list[float] = []
    registry = adapter(sleeps, timeout=0.1, attempts=2)
    with pytest.raises(RegistryUnavailableError, match="ReadTimeout after 2 attempts"):
        registry.lookup(query_for(packaged[0]))
    assert sleeps == [0.2]


def test_nothing_listens_on_a_closed_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sleeps: list[float] = []
    with httpx.Client(base_url=closed, timeout=2) as client:
        registry = HttpRegistry(client, sleep=sleeps.append)
        with pytest.raises(RegistryUnavailableError, match="ConnectError after 3 attempts"):
            registry.resident("R000001")
    assert sleeps == [0.2, 0.4]
