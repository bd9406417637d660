"""The HTTP registry adapter against `httpx.MockTransport` handlers that check what was sent.

Every failure of the gateway — down, slow, overloaded, confused — must reach the caller as
`RegistryUnavailableError`, after the right number of attempts, and without the personal data of
the query or of the answer in the message or the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from servicekonto.registry.http_adapter import HttpRegistry
from servicekonto.registry.port import (
    Address,
    LookupOutcome,
    LookupResult,
    RegistryQuery,
    RegistryUnavailableError,
    ResidentRecord,
)

Handler = Callable[[httpx.Request], httpx.Response]
BASE_URL = "http://registry.test"

QUERY = RegistryQuery(
    given_names="Annegret",
    family_name="Wollscheid",
    birth_name=None,
    birth_date=date(1984, 3, 7),
    address=Address("Moselstraße", "12a", "56812", "Cochem"),
)
RESIDENT = ResidentRecord(
    resident_id="R-0001",
    academic_title="Dr.",
    given_names="Annegret Maria",
    family_name="Wollscheid",
    birth_name="Kaltenborn",
    birth_date=date(1984, 3, 7),
    birth_place="Mayen",
    address=Address("Moselstraße", "12 a", "56812", "Cochem"),
    municipality="Cochem",
)
RESIDENT_JSON = {
    "resident_id": "R-0001",
    "academic_title": "Dr.",
    "given_names": "Annegret Maria",
    "family_name": "Wollscheid",
    "birth_name": "Kaltenborn",
    "birth_date": "1984-03-07",
    "birth_place": "Mayen",
    "street": "Moselstraße",
    "house_number": "12 a",
    "postal_code": "56812",
    "city": "Cochem",
    "municipality": "Cochem",
}
# Whatever fails, none of these may appear in an error message or a log line.
PERSONAL_DATA = ("Annegret", "Wollscheid", "Kaltenborn", "Moselstra", "1984")


class Recorder:
    """Counts the requests a handler saw and the backoff sleeps the adapter asked for."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def registry(self, **options: Any) -> HttpRegistry:
        client = httpx.Client(base_url=BASE_URL, transport=httpx.MockTransport(self))
        return HttpRegistry(client, sleep=self.sleeps.append, **options)


def answer(status: int, body: object = None, **headers: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return handler


def in_turn(*handlers: Handler) -> Handler:
    """Each request gets the next handler; the last one answers every further request."""
    remaining = list(handlers)

    def handler(request: httpx.Request) -> httpx.Response:
        current = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return current(request)

    return handler


def raising(error: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    return handler


def lookup_fails(recorder: Recorder, **options: Any) -> str:
    with pytest.raises(RegistryUnavailableError) as raised:
        recorder.registry(**options).lookup(QUERY)
    message = str(raised.value)
    assert not [word for word in PERSONAL_DATA if word in message]
    return message


# --- what is sent, and the three outcomes ----------------------------------------------------


def test_lookup_posts_the_query_as_json_and_returns_the_match() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.url == f"{BASE_URL}/v1/lookup"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["accept"] == "application/json"
        assert json.loads(request.content) == {
            "given_names": "Annegret",
            "family_name": "Wollscheid",
            "birth_name": None,
            "birth_date": "1984-03-07",
            "street": "Moselstraße",
            "house_number": "12a",
            "postal_code": "56812",
            "city": "Cochem",
        }
        return httpx.Response(200, json={"outcome": "match", "resident": RESIDENT_JSON})

    recorder = Recorder(handler)
    assert recorder.registry().lookup(QUERY) == LookupResult(LookupOutcome.MATCH, RESIDENT)
    assert len(recorder.requests) == 1
    assert recorder.sleeps == []


@pytest.mark.parametrize("outcome", [LookupOutcome.NO_MATCH, LookupOutcome.AMBIGUOUS])
def test_lookup_without_a_single_match_names_no_one(outcome: LookupOutcome) -> None:
    recorder = Recorder(answer(200, {"outcome": outcome.value}))
    assert recorder.registry().lookup(QUERY) == LookupResult(outcome)


def test_omitted_optional_fields_of_a_resident_are_none() -> None:
    sparse = {k: v for k, v in RESIDENT_JSON.items() if k not in {"academic_title", "birth_name"}}
    recorder = Recorder(answer(200, {"outcome": "match", "resident": sparse}))
    resident = recorder.registry().lookup(QUERY).resident
    assert resident is not None
    assert (resident.academic_title, resident.birth_name) == (None, None)


# --- retries ---------------------------------------------------------------------------------


def test_two_503_then_an_answer_succeeds_on_the_third_attempt_with_backoff() -> None:
    match = answer(200, {"outcome": "match", "resident": RESIDENT_JSON})
    recorder = Recorder(in_turn(answer(503), answer(503), match))
    assert recorder.registry().lookup(QUERY).outcome is LookupOutcome.MATCH
    assert len(recorder.requests) == 3
    assert recorder.sleeps == [0.2, 0.4]


def test_the_same_request_is_repeated() -> None:
    recorder = Recorder(in_turn(answer(502), answer(200, {"outcome": "no_match"})))
    recorder.registry().lookup(QUERY)
    first, second = recorder.requests
    assert (first.method, first.url, first.content) == (second.method, second.url, second.content)


@pytest.mark.parametrize("status", [500, 503, 504, 429])
def test_a_persistent_overload_or_server_error_is_unavailable_after_three_attempts(
    status: int,
) -> None:
    recorder = Recorder(answer(status, {"title": "down"}))
    assert f"HTTP {status} after 3 attempts" in lookup_fails(recorder)
    assert len(recorder.requests) == 3
    assert recorder.sleeps == [0.2, 0.4]


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError])
def test_timeouts_and_connection_failures_are_retried_then_unavailable(
    error: type[httpx.TransportError],
) -> None:
    recorder = Recorder(raising(error))
    message = lookup_fails(recorder)
    assert error.__name__ in message
    assert len(recorder.requests) == 3
    assert recorder.sleeps == [0.2, 0.4]


def test_a_timeout_then_an_answer_succeeds() -> None:
    recorder = Recorder(in_turn(raising(httpx.ReadTimeout), answer(200, {"outcome": "no_match"})))
    assert recorder.registry().lookup(QUERY).outcome is LookupOutcome.NO_MATCH
    assert recorder.sleeps == [0.2]


def test_attempts_and_backoff_are_configurable() -> None:
    recorder = Recorder(answer(503))
    lookup_fails(recorder, attempts=4, backoff_seconds=1.0)
    assert recorder.sleeps == [1.0, 2.0, 4.0]


def test_one_attempt_means_no_retry() -> None:
    recorder = Recorder(answer(503))
    lookup_fails(recorder, attempts=1)
    assert (len(recorder.requests), recorder.sleeps) == (1, [])


def test_fewer_than_one_attempt_is_refused() -> None:
    with pytest.raises(ValueError, match="attempts"):
        Recorder(answer(200)).registry(attempts=0)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_not_retried(status: int) -> None:
    recorder = Recorder(answer(status, {"title": "no"}))
    assert f"HTTP {status}" in lookup_fails(recorder)
    assert (len(recorder.requests), recorder.sleeps) == (1, [])


def test_an_unusable_url_is_not_retried() -> None:
    recorder = Recorder(raising(httpx.UnsupportedProtocol))
    assert "UnsupportedProtocol" in lookup_fails(recorder)
    assert len(recorder.requests) == 1


def test_a_redirect_is_not_followed() -> None:
    recorder = Recorder(answer(307, location="http://elsewhere.test/v1/lookup"))
    assert "HTTP 307" in lookup_fails(recorder)
    assert len(recorder.requests) == 1


# --- malformed answers -----------------------------------------------------------------------


def raw(status: int, content: bytes, content_type: str = "application/json") -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers={"content-type": content_type})

    return handler


MALFORMED = {
    "not json": raw(200, b"<html>Wartungsarbeiten</html>", "text/html"),
    "empty": raw(200, b""),
    "truncated": raw(200, b'{"outcome": "match", "resident": {"given_names": "Annegret'),
    "unknown outcome": answer(200, {"outcome": "maybe"}),
    "no outcome": answer(200, {"resident": RESIDENT_JSON}),
    "unknown field": answer(200, {"outcome": "no_match", "score": 0.4}),
    "match without resident": answer(200, {"outcome": "match"}),
    "ambiguous naming someone": answer(200, {"outcome": "ambiguous", "resident": RESIDENT_JSON}),
    "number for a name": answer(
        200, {"outcome": "match", "resident": {**RESIDENT_JSON, "family_name": 7}}
    ),
    "bad date": answer(
        200, {"outcome": "match", "resident": {**RESIDENT_JSON, "birth_date": "07.03.1984"}}
    ),
    "list": answer(200, [RESIDENT_JSON]),
}


@pytest.mark.parametrize("handler", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_answer_is_unavailable_without_retry(handler: Handler) -> None:
    recorder = Recorder(handler)
    assert "malformed answer" in lookup_fails(recorder)
    assert (len(recorder.requests), recorder.sleeps) == (1, [])


def test_the_message_names_the_bad_field_not_its_value() -> None:
    bad = {**RESIDENT_JSON, "birth_date": "07.03.1984"}
    message = lookup_fails(Recorder(answer(200, {"outcome": "match", "resident": bad})))
    assert "resident.birth_date" in message
    assert "07.03" not in message


def test_a_query_the_wire_format_cannot_carry_is_not_sent() -> None:
    recorder = Recorder(answer(200, {"outcome": "no_match"}))
    too_long = RegistryQuery(
        given_names="Annegret" * 30,
        family_name="Wollscheid",
        birth_name=None,
        birth_date=QUERY.birth_date,
        address=QUERY.address,
    )
    with pytest.raises(RegistryUnavailableError, match="given_names") as raised:
        recorder.registry().lookup(too_long)
    assert "Annegret" not in str(raised.value)
    assert raised.value.__cause__ is None
    assert recorder.requests == []


# --- the current registration of a resident --------------------------------------------------


def test_resident_gets_the_resident_by_id() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET"
        assert request.url == f"{BASE_URL}/v1/residents/R-0001"
        assert request.headers["accept"] == "application/json"
        assert "content-type" not in request.headers
        assert request.content == b""
        return httpx.Response(200, json=RESIDENT_JSON)

    assert Recorder(handler).registry().resident("R-0001") == RESIDENT


def test_a_resident_id_is_one_path_segment() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.raw_path == b"/v1/residents/..%2Fadmin%3Fx%3D1"
        return httpx.Response(404)

    assert Recorder(handler).registry().resident("../admin?x=1") is None


def test_an_unknown_resident_is_none() -> None:
    problem = {"type": "about:blank", "title": "Not Found", "status": 404}
    recorder = Recorder(answer(404, problem, **{"content-type": "application/problem+json"}))
    assert recorder.registry().resident("R-9999") is None
    assert len(recorder.requests) == 1


def test_a_different_resident_in_the_answer_is_malformed() -> None:
    recorder = Recorder(answer(200, {**RESIDENT_JSON, "resident_id": "R-0002"}))
    with pytest.raises(RegistryUnavailableError, match="malformed answer"):
        recorder.registry().resident("R-0001")


def test_resident_retries_like_lookup() -> None:
    recorder = Recorder(in_turn(raising(httpx.ConnectError), answer(503), answer(503)))
    with pytest.raises(RegistryUnavailableError, match="after 3 attempts"):
        recorder.registry().resident("R-0001")
    assert recorder.sleeps == [0.2, 0.4]


# --- nothing personal in the log -------------------------------------------------------------


def test_the_log_has_outcomes_and_statuses_but_no_personal_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")
    match = answer(200, {"outcome": "match", "resident": RESIDENT_JSON})
    Recorder(in_turn(answer(503), match)).registry().lookup(QUERY)
    lookup_fails(Recorder(MALFORMED["number for a name"]))
    log = caplog.text
    assert "HTTP 503" in log
    assert "match" in log
    assert not [word for word in (*PERSONAL_DATA, "Mayen", "R-0001") if word in log]
