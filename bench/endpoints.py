"""The endpoints the HTTP suite measures, and what each wrk run of one of them needs.

Each endpoint names its wrk script (bench/lua/), the status a successful request answers with,
and how to prepare a run: which headers, and which files of bodies or credentials the script
reads. Endpoints with single-use credentials get as many as the run can consume.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchapp import BARE_IN_THREAD_PATH, BARE_PATH
from credentials import SERVICE_SCOPE, Credentials

FORM = "Content-Type: application/x-www-form-urlencoded"
LUA = Path(__file__).resolve().parent / "lua"


@dataclass(frozen=True)
class Invocation:
    """What one wrk run of an endpoint is given besides connections and duration."""

    script: Path
    headers: list[str] = field(default_factory=list)
    arguments: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunPlan:
    """The run being prepared: where its files go, its threads, how many credentials it needs."""

    scratch: Path
    threads: int
    credentials_needed: int


Preparation = Callable[[Credentials, RunPlan], Invocation]


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    prepare: Preparation
    # Needs one fresh credential per request: the run is sized to what it can consume.
    single_use: bool = False


def _fixed(method: str = "GET", headers: list[str] | None = None) -> Invocation:
    arguments = {"method": method, "expect": "200"}
    return Invocation(LUA / "fixed.lua", headers or [], arguments)


def _bare(_credentials: Credentials, _plan: RunPlan) -> Invocation:
    return _fixed()


def _client_credentials(credentials: Credentials, plan: RunPlan) -> Invocation:
    body = plan.scratch / "client_credentials.txt"
    body.write_text(f"grant_type=client_credentials&scope={SERVICE_SCOPE}")
    authorization = credentials.seeded.service.basic_authorization()
    invocation = _fixed("POST", [FORM, f"Authorization: {authorization}"])
    return Invocation(
        invocation.script, invocation.headers, {**invocation.arguments, "body": str(body)}
    )


def _introspection(credentials: Credentials, plan: RunPlan) -> Invocation:
    body = plan.scratch / "introspection.txt"
    body.write_text(f"token={credentials.access_token()}&token_type_hint=access_token")
    authorization = credentials.seeded.procedure.basic_authorization()
    invocation = _fixed("POST", [FORM, f"Authorization: {authorization}"])
    return Invocation(
        invocation.script, invocation.headers, {**invocation.arguments, "body": str(body)}
    )


def _userinfo(credentials: Credentials, _plan: RunPlan) -> Invocation:
    return _fixed("GET", [f"Authorization: Bearer {credentials.access_token()}"])


def _single_use(
    bodies: list[str], spent: str, credentials: Credentials, plan: RunPlan
) -> Invocation:
    path = plan.scratch / "bodies.txt"
    path.write_text("\n".join(bodies) + "\n")
    authorization = credentials.seeded.procedure.basic_authorization()
    arguments = {"bodies": str(path), "threads": str(plan.threads), "expect": "200", "spent": spent}
    return Invocation(LUA / "single_use.lua", [FORM, f"Authorization: {authorization}"], arguments)


def _code_exchange(credentials: Credentials, plan: RunPlan) -> Invocation:
    bodies = credentials.code_bodies(plan.credentials_needed)
    spent = "grant_type=authorization_code&code=sk_ac_used-up"
    return _single_use(bodies, spent, credentials, plan)


def _refresh(credentials: Credentials, plan: RunPlan) -> Invocation:
    bodies = credentials.refresh_bodies(plan.credentials_needed)
    spent = "grant_type=refresh_token&refresh_token=sk_rt_used-up"
    return _single_use(bodies, spent, credentials, plan)


def _login(credentials: Credentials, plan: RunPlan) -> Invocation:
    path = plan.scratch / "login_forms.txt"
    forms = credentials.login_forms(plan.threads)
    path.write_text("".join(f"{cookie}\t{body}\n" for cookie, body in forms))
    # A browser posting the form sends our own origin; the CSRF check accepts it.
    headers = [FORM, f"Origin: {credentials.base_url}"]
    arguments = {"forms": str(path), "threads": str(plan.threads), "expect": "303"}
    return Invocation(LUA / "login.lua", headers, arguments)


BARE = "bare"
ENDPOINTS = {
    endpoint.name: endpoint
    for endpoint in (
        Endpoint(BARE, BARE_PATH, _bare),
        Endpoint("bare_in_thread", BARE_IN_THREAD_PATH, _bare),
        Endpoint("discovery", "/.well-known/openid-configuration", _bare),
        Endpoint("jwks", "/oidc/jwks", _bare),
        Endpoint("token_client_credentials", "/oidc/token", _client_credentials),
        Endpoint("token_code_exchange", "/oidc/token", _code_exchange, single_use=True),
        Endpoint("token_refresh", "/oidc/token", _refresh, single_use=True),
        Endpoint("introspection", "/oidc/introspect", _introspection),
        Endpoint("userinfo", "/oidc/userinfo", _userinfo),
        Endpoint("login", "/login", _login),
    )
}
