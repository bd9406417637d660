"""The registry port over a registry gateway's JSON API (`openapi/registry-mock.json`).

The caller injects the `httpx.Client`: its base URL and timeouts are configuration, and tests
hand in an `httpx.MockTransport` instead of patching anything. A lookup is a read, so repeating
it is safe: connection failures, timeouts, 429 and 5xx are retried with exponential backoff.
Any other unexpected answer, and every malformed one, fails at once: repeating would only get
the same answer. Neither the log nor an error message carries what a person typed or what the
registry holds — only the operation, status codes and the kind of failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from servicekonto.observability import get_logger
from servicekonto.registry.port import (
    LookupResult,
    RegistryQuery,
    RegistryUnavailableError,
    ResidentRecord,
)
from servicekonto.registry.wire import (
    LookupResponse,
    ResidentOut,
    request_from_query,
    resident_from_wire,
    result_from_response,
)

log = get_logger(__name__)

_Answer = TypeVar("_Answer", bound=BaseModel)
# Failures on the way that a second try may not meet; a malformed request or URL would.
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_ACCEPT_JSON = {"accept": "application/json"}
_SEND_JSON = {**_ACCEPT_JSON, "content-type": "application/json"}


def _is_transient(status_code: int) -> bool:
    return status_code == 429 or status_code >= 500


class HttpRegistry:
    """`RegistryPort` for a registry gateway reached over HTTP."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._client = client
        self._attempts = attempts
        self._backoff_seconds = backoff_seconds
        self._sleep = sleep

    def lookup(self, query: RegistryQuery) -> LookupResult:
        body = _encode_query(query).encode()
        response = self._send("lookup", "POST", "/v1/lookup", body)
        _expect_ok("lookup", response)
        result = result_from_response(_decode("lookup", LookupResponse, response))
        log.info("registry_answer", operation="lookup", outcome=result.outcome.value)
        return result

    def resident(self, resident_id: str) -> ResidentRecord | None:
        # The id goes into the path as one segment, whatever it contains.
        response = self._send("resident", "GET", f"/v1/residents/{quote(resident_id, safe='')}")
        if response.status_code == 404:
            log.info("registry_answer", operation="resident", outcome="not_found")
            return None
        _expect_ok("resident", response)
        resident = _decode("resident", ResidentOut, response)
        if resident.resident_id != resident_id:
            raise _unavailable("resident", "malformed answer: a different resident")
        log.info("registry_answer", operation="resident", outcome="found")
        return resident_from_wire(resident)

    def _send(
        self, operation: str, method: str, path: str, body: bytes | None = None
    ) -> httpx.Response:
        """The first answer that is not transient; unavailable once every attempt failed."""
        reason = ""
        last_error: httpx.HTTPError | None = None
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._backoff_seconds * 2 ** (attempt - 1))
            try:
                headers = _ACCEPT_JSON if body is None else _SEND_JSON
                response = self._client.request(method, path, content=body, headers=headers)
            except _TRANSIENT_ERRORS as error:
                reason, last_error = type(error).__name__, error
            except httpx.HTTPError as error:
                raise _unavailable(operation, type(error).__name__) from error
            else:
                if not _is_transient(response.status_code):
                    return response
                reason, last_error = f"HTTP {response.status_code}", None
            log.warning(
                "registry_attempt_failed", operation=operation, attempt=attempt + 1, reason=reason
            )
        raise _unavailable(operation, f"{reason} after {self._attempts} attempts") from last_error


def _encode_query(query: RegistryQuery) -> str:
    try:
        return request_from_query(query).model_dump_json()
    except ValidationError as error:
        # Never `from error`: its text repeats the values, which are what a person typed.
        raise _unavailable(
            "lookup", f"query does not fit the wire format ({_where(error)})"
        ) from None


def _expect_ok(operation: str, response: httpx.Response) -> None:
    if response.status_code != 200:
        raise _unavailable(operation, f"HTTP {response.status_code}")


def _decode(operation: str, model: type[_Answer], response: httpx.Response) -> _Answer:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as error:
        # Never `from error`: its text repeats the values, which are registry contents.
        raise _unavailable(operation, f"malformed answer ({_where(error)})") from None


def _where(error: ValidationError) -> str:
    """Which fields failed and how, without their values."""
    problems = (
        f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['type']}"
        for item in error.errors()
    )
    return "; ".join(sorted(set(problems)))


def _unavailable(operation: str, reason: str) -> RegistryUnavailableError:
    log.warning("registry_unavailable", operation=operation, reason=reason)
    return RegistryUnavailableError(f"registry {operation} failed: {reason}")
