"""Request context as plain ASGI middleware: request id, one access log line, last-resort 500.

Plain ASGI (not BaseHTTPMiddleware) keeps the request id context variable visible to the route
handler and costs no extra task per request. The access line records the path without the
query string: query strings carry authorization codes, tokens and personal data.
"""

from __future__ import annotations

import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekonto.api.problems import PROBLEM_MEDIA_TYPE, SERVER_ERROR, problem_body
from servicekonto.observability import bind_request_id, get_logger, reset_request_id

REQUEST_ID_HEADER = b"x-request-id"
log = get_logger("servicekonto.request")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, issuer: str) -> None:
        self.app = app
        self.issuer = issuer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, token = bind_request_id(_header(scope, REQUEST_ID_HEADER))
        exchange = _Exchange(send, request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, exchange.send)
        except Exception:
            log.exception("unhandled error", method=scope["method"], path=scope["path"])
            await exchange.fail(self.issuer)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=exchange.status,
                duration_ms=duration_ms,
            )
            reset_request_id(token)


class _Exchange:
    """Watches the response going out: adds the request id, remembers the status."""

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self._request_id = request_id.encode()
        self.status: int | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message["headers"] = [
                *message.get("headers", []),
                (REQUEST_ID_HEADER, self._request_id),
            ]
        await self._send(message)

    async def fail(self, issuer: str) -> None:
        if self.status is not None:
            return  # the response has begun; the server will close the connection
        body = problem_body(
            500, SERVER_ERROR.title, SERVER_ERROR.uri(issuer), detail=SERVER_ERROR.description
        )
        payload = json.dumps(body).encode()
        headers = [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(payload)).encode()),
        ]
        await self.send({"type": "http.response.start", "status": 500, "headers": headers})
        await self.send({"type": "http.response.body", "body": payload})


def _header(scope: Scope, name: bytes) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None
