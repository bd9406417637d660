"""FastAPI dependencies of the pages: the services, the page, the submitted form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from servicekonto.accounts.login import CurrentSession, LoginService
from servicekonto.accounts.second_factors import SecondFactorService
from servicekonto.accounts.service import AccountService
from servicekonto.config import Settings
from servicekonto.federation.service import FederationService
from servicekonto.registration.context import IdentityContext
from servicekonto.web.csrf import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, CsrfProtection
from servicekonto.web.rendering import Page, build_page

# Our forms are small; anything bigger is not one of them.
MAX_FORM_FIELDS = 40
MAX_FIELD_BYTES = 16 * 1024
MAX_JSON_BYTES = 64 * 1024


def login_service(request: Request) -> LoginService:
    service: LoginService = request.app.state.login_service
    return service


def account_service(request: Request) -> AccountService:
    service: AccountService = request.app.state.account_service
    return service


def second_factor_service(request: Request) -> SecondFactorService:
    service: SecondFactorService = request.app.state.second_factor_service
    return service


def identity_context(request: Request) -> IdentityContext:
    context: IdentityContext = request.app.state.identity
    return context


def federation_service(request: Request) -> FederationService:
    service: FederationService = request.app.state.federation
    return service


def session_cookie(request: Request) -> str | None:
    settings: Settings = request.app.state.settings
    return request.cookies.get(settings.session.cookie_name)


def page(request: Request, login: Annotated[LoginService, Depends(login_service)]) -> Page:
    return build_page(request, login.current(session_cookie(request)))


@dataclass(frozen=True)
class Submission:
    values: dict[str, str]
    csrf_ok: bool

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def csrf_verified(request: Request, submitted: str | None) -> bool:
    """The double-submit token against this browser's cookie, and the Origin check."""
    csrf: CsrfProtection = request.app.state.csrf
    return csrf.verify(request.cookies.get(CSRF_COOKIE), submitted, request.headers.get("origin"))


async def submission(request: Request) -> Submission:
    form = await request.form(
        max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
    )
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    submitted = values.pop(CSRF_FIELD, None) or request.headers.get(CSRF_HEADER)
    return Submission(values=values, csrf_ok=csrf_verified(request, submitted))


@dataclass(frozen=True)
class JsonCall:
    """A script's JSON call (passkeys): its body, and whether its CSRF header was right."""

    body: str
    csrf_ok: bool


async def json_call(request: Request) -> JsonCall:
    ok = csrf_verified(request, request.headers.get(CSRF_HEADER))
    body = await request.body()
    if len(body) > MAX_JSON_BYTES:
        return JsonCall(body="", csrf_ok=ok)
    return JsonCall(body=body.decode("utf-8", "replace"), csrf_ok=ok)


PageDep = Annotated[Page, Depends(page)]


class SignInRequired(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by `signed_in` for a visitor without a session: answered with the login page."""

    def __init__(self, page: Page) -> None:
        super().__init__("sign in required")
        self.page = page


class FormExpired(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by `action_form` when a simple action's CSRF token is missing or wrong."""

    def __init__(self, page: Page) -> None:
        super().__init__("form expired")
        self.page = page


def signed_in(page: PageDep) -> CurrentSession:
    if page.current is None or not page.signed_in:
        raise SignInRequired(page)
    return page.current


async def action_form(
    page: PageDep, submitted: Annotated[Submission, Depends(submission)]
) -> Submission:
    """A button-style form (no fields to keep): a bad CSRF token ends the request here."""
    if not submitted.csrf_ok:
        raise FormExpired(page)
    return submitted


SubmissionDep = Annotated[Submission, Depends(submission)]
ActionFormDep = Annotated[Submission, Depends(action_form)]
SignedInDep = Annotated[CurrentSession, Depends(signed_in)]
JsonCallDep = Annotated[JsonCall, Depends(json_call)]
LoginDep = Annotated[LoginService, Depends(login_service)]
AccountsDep = Annotated[AccountService, Depends(account_service)]
SecondFactorsDep = Annotated[SecondFactorService, Depends(second_factor_service)]
IdentityDep = Annotated[IdentityContext, Depends(identity_context)]
FederationDep = Annotated[FederationService, Depends(federation_service)]
