"""Security headers on every response, as plain ASGI middleware.

The content security policy allows scripts and styles from our own origin only — no inline
script, no inline style — so an injected `<script>` does not run even if escaping ever failed.
`frame-ancestors 'none'` stops click-jacking of the login form; HSTS is sent only when the
issuer is https, since browsers ignore it over http and it would pin a development host.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekonto.security.headers import HSTS, policy_with_form_targets

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, https: bool, form_targets: list[str] | None = None) -> None:
        self.app = app
        policy = policy_with_form_targets(form_targets or [])
        self.headers = [
            (b"content-security-policy", policy.encode()),
            *_COMMON,
            *([(b"strict-transport-security", HSTS.encode())] if https else []),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in self.headers if name not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
