"""The authorization endpoint's decisions (OpenID Connect Core §3.1.2), framework-free.

authlib validates the OAuth part (client, exact redirect URI, response type, PKCE format, nonce,
prompt); our checks add what a trust-level-aware provider needs, then the request either gets its
code at once or waits for the person as an interaction (login, step-up, consent) and is resumed
exactly as the procedure sent it. An error goes back to the procedure only once its redirect URI
has been verified; otherwise the person sees an error page (STYLE habit 3).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import OAuth2Error

from servicekonto.accounts.login import CurrentSession
from servicekonto.federation.attributes import claim_names
from servicekonto.federation.service import FederationService
from servicekonto.oidc.adapters import RegisteredClient
from servicekonto.oidc.grants import EndUser
from servicekonto.oidc.logout import verified_hint
from servicekonto.oidc.metadata import AUTHORIZE_PATH
from servicekonto.oidc.server import PlainRequest, ProviderServer
from servicekonto.trust.levels import TrustLevel
from servicekonto.trust.vocabularies import DEFAULT_VOCABULARY, Vocabulary, acr_value, parse_acr

RESUME_PATH = "/oidc/authorize/resume"
ORGANISATION_SCOPE = "organisation"
# The interaction remembers whom the person acts for: "self" or an organisation's id.
ACTING_FOR = "acting_for"
ACTING_FOR_SELF = "self"
PAR_URN = "urn:ietf:params:oauth:request_uri:"
PAR_LIFETIME = timedelta(seconds=60)


@dataclass(frozen=True)
class Redirect:
    url: str


@dataclass(frozen=True)
class ErrorPage:
    error: str
    description: str


@dataclass(frozen=True)
class FormPost:
    """OAuth 2.0 Form Post Response Mode: the browser posts the answer to the client."""

    action: str
    fields: dict[str, str]


Outcome = Redirect | ErrorPage | FormPost
RESPONSE_MODES = frozenset({"query", "form_post"})


class AuthorizationRejected(Exception):  # noqa: N818 - carries a protocol error, not a bug
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Demands:
    """What the request needs of the session, from acr_values, claims, max_age and the client."""

    level: TrustLevel
    vocabulary: Vocabulary
    essential_acr: bool
    max_age: int | None
    prompts: frozenset[str]
    response_mode: str = "query"
    # `sub` of a verified id_token_hint: the request is for that person only (OIDC Core §3.1.2.1).
    hinted_subject: str | None = None


class AuthorizationFlow:
    def __init__(self, server: ProviderServer, federation: FederationService) -> None:
        self._server = server
        self._federation = federation

    def start(self, plain: PlainRequest, session: CurrentSession | None) -> Outcome:
        params = _params_of(plain)
        if params.get("request_uri", "").startswith(PAR_URN):
            pushed = self._pushed(params)
            if pushed is None:
                return ErrorPage("invalid_request_uri", "The pushed request is unknown or expired.")
            plain = _plain_from(self._server.issuer, pushed)
        return self._decide(plain, session, interaction=None)

    def push(self, client: RegisteredClient, params: dict[str, str]) -> tuple[str, int]:
        """RFC 9126: keep a client's authorization request; a one-time reference to it."""
        request = {**params, "client_id": client.get_client_id()}
        pushed_id = self._federation.begin("par", client.get_client_id(), {"request": request})
        return f"{PAR_URN}{pushed_id}", int(PAR_LIFETIME.total_seconds())

    def _pushed(self, params: dict[str, str]) -> dict[str, str] | None:
        reference = params["request_uri"].removeprefix(PAR_URN)
        try:
            pushed_id = uuid.UUID(reference)
        except ValueError:
            return None
        pushed = self._federation.waiting(pushed_id)
        if (
            pushed is None
            or pushed.protocol != "par"
            or pushed.client_id != params.get("client_id")
        ):
            return None
        if self._server.clock.now() > pushed.created_at + PAR_LIFETIME:
            return None
        if not self._federation.finish(pushed_id):  # RFC 9126 §4: a request_uri is used once
            return None
        request: dict[str, str] = pushed.params["request"]
        return request

    def resume(self, interaction_id: uuid.UUID, session: CurrentSession | None) -> Outcome:
        interaction = self._federation.waiting(interaction_id)
        if interaction is None:
            return ErrorPage("interaction_expired", "The request has expired; start again.")
        plain = _plain_from(self._server.issuer, interaction.params["request"])
        return self._decide(plain, session, interaction=(interaction_id, interaction.created_at))

    def deny(self, interaction_id: uuid.UUID, reason: str = "access_denied") -> Outcome:
        interaction = self._federation.waiting(interaction_id)
        if interaction is None or not self._federation.finish(interaction_id):
            return ErrorPage("interaction_expired", "The request has expired; start again.")
        params = interaction.params["request"]
        mode = (
            params.get("response_mode")
            if params.get("response_mode") in RESPONSE_MODES
            else "query"
        )
        return self._error_redirect(
            params["redirect_uri"], params.get("state"), reason, "The person did not agree.", mode
        )

    # --- the decision ---------------------------------------------------------------------------

    def _decide(
        self,
        plain: PlainRequest,
        session: CurrentSession | None,
        interaction: tuple[uuid.UUID, datetime] | None,
    ) -> Outcome:
        try:
            # authlib answers prompt=none itself when there is no session at all.
            grant = self._server.get_consent_grant(plain, end_user=session)
        except OAuth2Error as error:
            return self._authlib_error(error)
        client: RegisteredClient = grant.request.client
        redirect_uri = grant.request.payload.redirect_uri
        state = grant.request.payload.state
        if not redirect_uri:
            # OIDC Core §3.1.2.1: REQUIRED; without it there is no verified place to answer.
            return ErrorPage("invalid_request", "redirect_uri is required.")
        if plain.repeated:
            # RFC 6749 §3.1: parameters must not be included more than once.
            return self._error_redirect(
                redirect_uri, state, "invalid_request", "A parameter was repeated."
            )
        try:
            demands = check_request(grant.request.payload.data, client)
            demands = replace(demands, hinted_subject=self._hinted_subject(grant, client))
        except AuthorizationRejected as rejected:
            return self._error_redirect(redirect_uri, state, rejected.error, rejected.description)
        return self._for_session(plain, grant, session, demands, interaction)

    def _hinted_subject(self, grant: Any, client: RegisteredClient) -> str | None:
        """Only the `sub` of a hint we signed for this client counts; its acr and the rest of
        its claims never do, so a forged or altered hint cannot raise anything."""
        hint = grant.request.payload.data.get("id_token_hint")
        if not hint:
            return None
        claims = verified_hint(str(hint), self._server.keys, self._server.issuer)
        audience = (claims or {}).get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims is None or client.get_client_id() not in audiences or "sub" not in claims:
            raise AuthorizationRejected(
                "invalid_request", "id_token_hint is not an ID token we issued to this client."
            )
        return str(claims["sub"])

    def _for_session(  # noqa: PLR0911 - one return per answer the OIDC spec defines
        self,
        plain: PlainRequest,
        grant: Any,
        session: CurrentSession | None,
        demands: Demands,
        interaction: tuple[uuid.UUID, datetime] | None,
    ) -> Outcome:
        client: RegisteredClient = grant.request.client
        redirect_uri = grant.request.payload.redirect_uri or client.get_default_redirect_uri()
        state = grant.request.payload.state
        silent = "none" in demands.prompts
        needs = _what_is_missing(session, demands, interaction, self._server.clock.now())
        if needs == "login":
            if silent:
                return self._error_redirect(
                    redirect_uri, state, "login_required", "Login required.", demands.response_mode
                )
            return self._wait(plain, client, interaction, demands, "/login?next=")
        if needs == "level":
            if silent:
                error = (
                    "unmet_authentication_requirements"
                    if demands.essential_acr
                    else "interaction_required"
                )
                return self._error_redirect(
                    redirect_uri,
                    state,
                    error,
                    "A higher trust level is needed.",
                    demands.response_mode,
                )
            return self._wait(plain, client, interaction, demands, "/interaction/step-up/")
        assert session is not None  # noqa: S101 - _what_is_missing returned None only with a session
        if demands.hinted_subject not in {None, self._server.subject(client, session.person_id)}:
            return self._error_redirect(
                redirect_uri,
                state,
                "login_required",
                "The signed-in person is not the one id_token_hint names.",
                demands.response_mode,
            )
        scopes = sorted(set((grant.request.payload.scope or "").split()))
        consent = client.client.consent_required and (
            "consent" in demands.prompts
            or not self._federation.consented(session.person_id, client.get_client_id(), scopes)
        )
        if consent:
            if silent:
                return self._error_redirect(
                    redirect_uri,
                    state,
                    "consent_required",
                    "Consent required.",
                    demands.response_mode,
                )
            return self._wait(plain, client, interaction, demands, "/interaction/consent/")
        acting = self._acting_for(scopes, interaction)
        if acting is None:
            if silent:
                return self._error_redirect(
                    redirect_uri,
                    state,
                    "interaction_required",
                    "The person has to choose whom they act for.",
                    demands.response_mode,
                )
            return self._wait(plain, client, interaction, demands, "/interaction/organisation/")
        organisation_id = None if acting == ACTING_FOR_SELF else uuid.UUID(acting)
        if organisation_id is not None and not self._may_act_for(
            client, session.person_id, organisation_id
        ):
            return self._error_redirect(
                redirect_uri,
                state,
                "access_denied",
                "The organisation cannot be used with this procedure.",
                demands.response_mode,
            )
        if interaction is not None and not self._federation.finish(interaction[0]):
            return ErrorPage("interaction_expired", "The request has already been answered.")
        return self._issue(grant, session, demands, organisation_id)

    def _acting_for(
        self, scopes: list[str], interaction: tuple[uuid.UUID, datetime] | None
    ) -> str | None:
        """`self`, an organisation's id, or None while the person has not chosen."""
        if ORGANISATION_SCOPE not in scopes:
            return ACTING_FOR_SELF
        waiting = self._federation.waiting(interaction[0]) if interaction is not None else None
        chosen = waiting.params.get(ACTING_FOR) if waiting is not None else None
        return str(chosen) if chosen else None

    def _may_act_for(
        self, client: RegisteredClient, person_id: uuid.UUID, organisation_id: uuid.UUID
    ) -> bool:
        claim = self._server.organisation_claim(person_id, organisation_id)
        if claim is None:
            return False
        verified = claim["verification_state"] == "verified"
        return verified or not client.client.require_verified_organisation

    def _issue(
        self,
        grant: Any,
        session: CurrentSession,
        demands: Demands,
        organisation_id: uuid.UUID | None = None,
    ) -> Outcome:
        user = EndUser(
            person_id=session.person_id,
            session_id=session.session_id,
            acr=acr_value(session.level, demands.vocabulary)
            or acr_value(session.level, DEFAULT_VOCABULARY)
            or "",
            amr=list(session.methods),
            auth_time=session.authenticated_at,
            family_id=uuid.uuid4(),
            organisation_id=organisation_id,
        )
        grant.request.user = user
        client: RegisteredClient = grant.request.client
        scopes = set((grant.request.payload.scope or "").split())
        self._federation.record_release(
            session.person_id,
            (client.get_client_id(), client.client.name, client.client.authority_id),
            claim_names(scopes),
            int(session.level),
            subject=self._server.subject(client, session.person_id),
        )
        response = self._server.create_authorization_response(
            grant.request, grant_user=user, grant=grant
        )
        location = urlsplit(dict(response.headers).get("Location", ""))
        target = location._replace(query="").geturl()
        params = dict(parse_qsl(location.query, keep_blank_values=True))
        return self._to_client(target, params, demands.response_mode)

    def _wait(
        self,
        plain: PlainRequest,
        client: RegisteredClient,
        interaction: tuple[uuid.UUID, datetime] | None,
        demands: Demands,
        page: str,
    ) -> Outcome:
        if interaction is None:
            params = {
                "request": _params_of(plain),
                "client_name": client.client.name,
                "required_level": int(demands.level),
            }
            interaction_id = self._federation.begin("oidc", client.get_client_id(), params)
        else:
            interaction_id = interaction[0]
        resume = f"{RESUME_PATH}/{interaction_id}"
        target = page + resume if page.endswith("next=") else f"{page}{interaction_id}"
        request = _params_of(plain)
        if page.endswith("next=") and request.get("login_hint"):
            # OIDC Core §3.1.2.1: a hint to prefill the login name; never more than that.
            target += "&" + urlencode({"login_hint": request["login_hint"][:254]})
        locale = _ui_locale(request.get("ui_locales", ""))
        if locale is not None:
            # The procedure's language wins for the pages the person sees next.
            return Redirect(f"/language/{locale}?" + urlencode({"next": target}))
        return Redirect(target)

    def _authlib_error(self, error: OAuth2Error) -> Outcome:
        if error.redirect_uri:
            return self._error_redirect(
                error.redirect_uri, error.state, error.error, error.description or error.error
            )
        return ErrorPage(error.error, error.description or error.error)

    def _error_redirect(
        self,
        redirect_uri: str | None,
        state: str | None,
        error: str,
        description: str,
        mode: str = "query",
    ) -> Outcome:
        if not redirect_uri:
            return ErrorPage(error, description)
        params = {"error": error, "error_description": description}
        if state:
            params["state"] = state
        return self._to_client(redirect_uri, params, mode)

    def _to_client(self, redirect_uri: str, params: dict[str, str], mode: str) -> Outcome:
        """The answer to the procedure, always with `iss` (RFC 9207 §2)."""
        params = {**params, "iss": self._server.issuer}
        if mode == "form_post":
            return FormPost(redirect_uri, params)
        return Redirect(add_params_to_uri(redirect_uri, params))


def check_request(payload: dict[str, Any], client: RegisteredClient) -> Demands:
    """Our checks beyond OAuth's, in a fixed order; each raises AuthorizationRejected."""
    _no_request_objects(payload)
    scopes = set((payload.get("scope") or "").split())
    if "openid" not in scopes:
        raise AuthorizationRejected("invalid_scope", "The scope must contain openid.")
    if not scopes <= set(client.client.scopes):
        raise AuthorizationRejected(
            "invalid_scope", "A requested scope is not allowed for this client."
        )
    _pkce(payload, client)
    requested, essential = _requested_level(payload)
    level = max(
        TrustLevel(client.client.minimum_trust_level),
        requested.level if requested else TrustLevel(client.client.default_trust_level),
    )
    mode = payload.get("response_mode") or "query"
    if mode not in RESPONSE_MODES:
        raise AuthorizationRejected("invalid_request", "Unsupported response_mode.")
    return Demands(
        response_mode=mode,
        level=level,
        vocabulary=requested.vocabulary if requested else DEFAULT_VOCABULARY,
        essential_acr=essential,
        max_age=_max_age(payload),
        prompts=frozenset((payload.get("prompt") or "").split()),
    )


def _no_request_objects(payload: dict[str, Any]) -> None:
    if "request" in payload:
        raise AuthorizationRejected("request_not_supported", "Request objects are not supported.")
    if "request_uri" in payload:
        raise AuthorizationRejected("request_uri_not_supported", "request_uri is not supported.")


def _pkce(payload: dict[str, Any], client: RegisteredClient) -> None:
    challenge = payload.get("code_challenge")
    if client.client.token_endpoint_auth_method == "none" and not challenge:
        raise AuthorizationRejected("invalid_request", "Public clients must use PKCE (RFC 7636).")
    if challenge and payload.get("code_challenge_method") != "S256":
        raise AuthorizationRejected("invalid_request", "code_challenge_method must be S256.")


def _requested_level(payload: dict[str, Any]) -> tuple[Any, bool]:
    values, essential = _acr_from_claims(payload.get("claims"))
    if not values:
        values = (payload.get("acr_values") or "").split()
    if not values:
        return None, essential
    parsed = [found for found in (parse_acr(value) for value in values) if found is not None]
    if not parsed:
        raise AuthorizationRejected("invalid_request", "None of the acr_values is known.")
    # acr_values lists what is acceptable; the least of them is what must be reached.
    return min(parsed, key=lambda item: item.level), essential


def _acr_from_claims(claims: str | None) -> tuple[list[str], bool]:
    if not claims:
        return [], False
    try:
        parsed = json.loads(claims)
        acr = parsed.get("id_token", {}).get("acr") or {}
    except (ValueError, AttributeError):
        raise AuthorizationRejected(
            "invalid_request", "The claims parameter is not valid JSON."
        ) from None
    if not isinstance(acr, dict):
        return [], False
    values = acr.get("values") or ([acr["value"]] if "value" in acr else [])
    return [str(value) for value in values], bool(acr.get("essential"))


def _max_age(payload: dict[str, Any]) -> int | None:
    raw = payload.get("max_age")
    if raw is None:
        return None
    if not str(raw).isdigit():
        raise AuthorizationRejected("invalid_request", "max_age must be a non-negative integer.")
    return int(raw)


def _what_is_missing(
    session: CurrentSession | None,
    demands: Demands,
    interaction: tuple[uuid.UUID, datetime] | None,
    now: datetime,
) -> str | None:
    if session is None or session.second_factor_pending:
        return "login"
    # A login completed for this very request satisfies prompt=login and any max_age.
    fresh = interaction is not None and session.authenticated_at >= interaction[1]
    if "login" in demands.prompts and not fresh:
        return "login"
    if demands.max_age is not None and not fresh:
        elapsed = (now - session.authenticated_at).total_seconds()
        # OIDC Core §3.1.2.1: max_age=0 is equivalent to prompt=login.
        if demands.max_age == 0 or elapsed > demands.max_age:
            return "login"
    if session.level < demands.level:
        return "level"
    return None


def _ui_locale(ui_locales: str) -> str | None:
    for tag in ui_locales.split()[:10]:
        language = tag.split("-")[0].lower()
        if language in {"de", "en"}:
            return language
    return None


def _params_of(plain: PlainRequest) -> dict[str, str]:
    params = dict(parse_qsl(urlsplit(plain.url).query, keep_blank_values=True))
    params.update(plain.form)
    return params


def _plain_from(issuer: str, params: dict[str, str]) -> PlainRequest:
    return PlainRequest("GET", f"{issuer}{AUTHORIZE_PATH}?{urlencode(params)}", {}, {})
