"""The browser security policy every response carries (the web middleware sends it).

Scripts and styles from our own origin only — no inline script, no inline style — so an
injected `<script>` does not run even if escaping ever failed. `frame-ancestors 'none'` stops
click-jacking of the login form. Forms may only go to ourselves; the OAuth form-post page alone
widens that to the client's verified redirect URI.
"""

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HSTS = "max-age=63072000; includeSubDomains"


# BSI TR-03124-1 §2.2: the eID client on the person's own computer listens on this port.
LOCAL_EID_CLIENT = "http://127.0.0.1:24727"


def policy_with_form_targets(origins: list[str]) -> str:
    """Forms may also lead to these origins: an eID run starts with a POST to us that the
    browser follows on to the eID client, and browsers apply form-action to that redirect."""
    if not origins:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", "form-action 'self' " + " ".join(origins)
    )


def policy_posting_to(origin: str) -> str:
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action {origin}")
