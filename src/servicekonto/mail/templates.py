"""Plain-text mail templates in German and English, rendered with Jinja2.

Each file `templates/<locale>/<name>.txt` starts with `Subject: …`, then a blank line, then the
body, so a translator sees the whole message in one place.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

TEMPLATE_NAMES = (
    "confirm_email",
    "already_registered",
    "reset_password",
    "change_email_confirm",
    "email_changed_notice",
    "password_changed_notice",
    "safe_new_document",
    "organisation_verified",
    "organisation_rejected",
    "organisation_needs_info",
    "organisation_invitation",
)
LOCALES = ("de", "en")
DEFAULT_LOCALE = "de"
SUBJECT_PREFIX = "Subject: "


def render_mail(name: str, locale: str, **context: object) -> tuple[str, str]:
    """(subject, body) of template `name` in `locale`, German when the locale is not offered.

    A missing context variable raises `jinja2.UndefinedError` rather than sending a mail with a
    hole where the link should be.
    """
    if name not in TEMPLATE_NAMES:
        raise ValueError(f"unknown mail template {name!r}; known: {', '.join(TEMPLATE_NAMES)}")
    template = _environment().get_template(f"{language_of(locale)}/{name}.txt")
    return split_subject(template.render(**context), name)


def language_of(locale: str) -> str:
    """The offered language for a locale such as `en-GB` or `de_DE`; German otherwise."""
    language = locale.replace("_", "-").partition("-")[0].strip().lower()
    return language if language in LOCALES else DEFAULT_LOCALE


def split_subject(rendered: str, name: str) -> tuple[str, str]:
    """Separate the `Subject:` line from the body, refusing a template that lacks either."""
    first_line, _, rest = rendered.partition("\n")
    subject = first_line.removeprefix(SUBJECT_PREFIX).strip()
    if not first_line.startswith(SUBJECT_PREFIX) or not subject or not rest.startswith("\n"):
        raise ValueError(
            f"mail template {name!r} must start with '{SUBJECT_PREFIX}…' and a blank line"
        )
    return subject, rest[1:]


@cache
def _environment() -> Environment:
    # autoescape off: the output is plain text, HTML escaping would garble '&' in links.
    # StrictUndefined: a forgotten variable is an error, not an empty string in a mail.
    return Environment(
        loader=PackageLoader("servicekonto.mail", "templates"),
        autoescape=False,  # noqa: S701 - plain-text mail, never HTML
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,
    )
