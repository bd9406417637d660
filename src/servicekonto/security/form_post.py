"""The page that sends a protocol answer to a procedure by POST (OAuth 2.0 Form Post Response
Mode; SAML HTTP-POST binding §3.5): a form the browser submits at once (with /static/formpost.js),
or the person presses its button when JavaScript is off. No inline script, so the CSP holds."""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from servicekonto.security.headers import policy_posting_to


def auto_post_page(action: str, fields: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The page's HTML and its headers: no caching, and a form-action for this target only."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )
    body = (
        '<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Weiter</title>'
        '<link rel="stylesheet" href="/static/site.css"></head><body><main class="container">'
        f'<form id="form-post" method="post" action="{escape(action)}">{hidden}'
        '<p><button type="submit" class="button">Weiter zum Verfahren</button></p></form>'
        '<script src="/static/formpost.js"></script></main></body></html>'
    )
    target = urlsplit(action)
    # This page alone may send a form elsewhere: to the procedure's verified address.
    csp = policy_posting_to(f"{target.scheme}://{target.netloc}")
    return body, {"cache-control": "no-store", "content-security-policy": csp}
