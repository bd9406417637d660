"""The eID port over an eID-Server's JSON API (`openapi/eid-mock.json`).

The API is a JSON profile of the eID-Server interface of BSI TR-03130 part 1, whose SOAP
operations map onto the two calls of the port:

1. `useID` → `start`: `POST /eid/v1/sessions` with the refresh address (`return_url`), our
   sector and the attributes to read; the answer names the session and the eID client's URL.
2. The eID client run (no call of ours): the browser goes to `client_url`; the eID client and the
   card run PACE, terminal and chip authentication (TR-03110) with the eID-Server, the person
   enters their PIN, and the browser is sent to `return_url?session_id=…&result_ref=…`.
3. `getResult` → `result`: `GET /eid/v1/sessions/{session_id}/result?ref=…` with the session
   id *we* kept (never the one in the browser's URL) and the single-use result reference.

Nothing is retried: a repeated `start` would open a second session, and a result can be fetched
only once, so a repeat after a lost answer would be refused as a replay anyway. Timeouts and
network errors become SERVER_UNAVAILABLE, every malformed answer BAD_ANSWER. The caller injects
the `httpx.Client` (timeouts are configuration; tests hand in an `httpx.MockTransport`). Logs and
error messages carry the operation, status and kind of failure — no attribute, session id or
reference.
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from servicekonto.eid.port import EidAttributes, EidError, EidFailure, EidSession
from servicekonto.eid.wire import (
    FailureOut,
    IncompleteResultError,
    ResultOut,
    StartRequest,
    StartResponse,
    attributes_from_wire,
)
from servicekonto.observability import get_logger

log = get_logger(__name__)

_Answer = TypeVar("_Answer", bound=BaseModel)
_ACCEPT_JSON = {"accept": "application/json"}
_SEND_JSON = {**_ACCEPT_JSON, "content-type": "application/json"}


class HttpEidServer:
    """`EidPort` for an eID-Server reached over HTTP, reading on behalf of one sector."""

    def __init__(self, base_url: str, http: httpx.Client, sector: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._http = http
        self._sector = sector

    def start(self, return_url: str) -> EidSession:
        """TR-03130 `useID`; a bad `return_url` is our own mistake and raises ValueError."""
        body = StartRequest(return_url=return_url, sector=self._sector).model_dump_json()
        response = self._send("start", "POST", "/eid/v1/sessions", content=body.encode())
        if response.status_code != 201:
            raise _refusal("start", response)
        answer = _decode("start", StartResponse, response)
        log.info("eid_answer", operation="start", outcome="started")
        return EidSession(session_id=answer.session_id, client_url=answer.client_url)

    def result(self, session_id: str, result_ref: str) -> EidAttributes:
        """TR-03130 `getResult` for the session we started; single use on the server."""
        path = f"/eid/v1/sessions/{quote(session_id, safe='')}/result"
        response = self._send("result", "GET", path, params={"ref": result_ref})
        if response.status_code != 200:
            raise _refusal("result", response)
        answer = _decode("result", ResultOut, response)
        if answer.session_id != session_id:
            raise _error(EidFailure.BAD_ANSWER, "result", "answer names another session")
        try:
            attributes = attributes_from_wire(answer)
        except IncompleteResultError as error:
            raise _error(EidFailure.BAD_ANSWER, "result", f"incomplete answer ({error})") from None
        log.info("eid_answer", operation="result", outcome="identified")
        return attributes

    def _send(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = _ACCEPT_JSON if content is None else _SEND_JSON
        url = self._base_url + path
        try:
            return self._http.request(method, url, content=content, params=params, headers=headers)
        except httpx.DecodingError as error:  # the body arrived, but garbled
            raise _error(EidFailure.BAD_ANSWER, operation, type(error).__name__) from error
        except httpx.HTTPError as error:  # timeout, refused connection, broken protocol …
            raise _error(EidFailure.SERVER_UNAVAILABLE, operation, type(error).__name__) from error


def _refusal(operation: str, response: httpx.Response) -> EidError:
    """The error an answer other than the expected success stands for."""
    status = response.status_code
    if status == 429 or status >= 500:
        return _error(EidFailure.SERVER_UNAVAILABLE, operation, f"HTTP {status}")
    if status < 400:
        return _error(EidFailure.BAD_ANSWER, operation, f"unexpected HTTP {status}")
    try:
        reported = FailureOut.model_validate_json(response.content).failure
    except ValidationError:
        return _error(EidFailure.BAD_ANSWER, operation, f"HTTP {status} without a failure")
    return _error(EidFailure(reported), operation, f"the eID-Server reported {reported.value}")


def _decode(operation: str, model: type[_Answer], response: httpx.Response) -> _Answer:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as error:
        # Never `from error`: its text repeats the values, which are personal data.
        raise _error(
            EidFailure.BAD_ANSWER, operation, f"malformed answer ({_where(error)})"
        ) from None


def _where(error: ValidationError) -> str:
    """Which fields failed and how, without their values."""
    problems = (
        f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['type']}"
        for item in error.errors()
    )
    return "; ".join(sorted(set(problems)))


def _error(failure: EidFailure, operation: str, reason: str) -> EidError:
    log.warning("eid_failed", operation=operation, failure=failure.value, reason=reason)
    return EidError(failure, f"eID {operation} failed ({failure.value}): {reason}")
