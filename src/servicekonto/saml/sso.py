"""Web-browser SSO (SAML profiles §4.1), framework-free: a verified AuthnRequest becomes an
interaction, the hosted pages log the person in, step up and ask consent, and the interaction is
answered with a Response posted to the provider's registered AssertionConsumerService.

Until the request's ACS is verified against metadata nothing goes back to the provider: the
person sees an error page instead (the SAML counterpart of never redirecting to an unverified
redirect URI). After that every refusal is a signed Response with a status the provider reads.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from servicekonto.accounts.login import CurrentSession
from servicekonto.federation.service import FederationService
from servicekonto.saml.akdb import AkdbError, parse_extension, status_detail_wanted
from servicekonto.saml.attributes import consent_labels, unavailable
from servicekonto.saml.demands import LevelDemand, level_demand
from servicekonto.saml.issue import AnswerBuilder, PostToProvider
from servicekonto.saml.requests import (
    AuthnRequest,
    IncomingMessage,
    Unreadable,
    check_destination,
    check_fresh,
    check_name_id_policy,
    claimed_issuer,
    consumer_service,
    decode,
    fresh_until,
    read,
    verified_root,
)
from servicekonto.saml.service import ProviderService, RegisteredProvider
from servicekonto.saml.xml import find
from servicekonto.trust.levels import TrustLevel

PROTOCOL = "saml"
RESUME_PATH = "/saml/sso/resume/"
DENY_PATH = "/saml/sso/deny/"
LANGUAGES = frozenset({"de", "en"})


@dataclass(frozen=True)
class Redirect:
    url: str


@dataclass(frozen=True)
class ErrorPage:
    reason: str


Outcome = Redirect | ErrorPage | PostToProvider


class SsoFlow:
    def __init__(
        self,
        sso_url: str,
        providers: ProviderService,
        federation: FederationService,
        answers: AnswerBuilder,
    ) -> None:
        self._sso_url = sso_url
        self._providers = providers
        self._federation = federation
        self._answers = answers

    def start(self, message: IncomingMessage, session: CurrentSession | None) -> Outcome:
        try:
            root = decode(message)
            provider = self._providers.get(claimed_issuer(root))
            if provider is None:
                return ErrorPage("The procedure is not registered here.")
            acs = consumer_service(root, provider)
        except Unreadable as unreadable:
            return ErrorPage(str(unreadable))
        detail = status_detail_wanted(find(root, "samlp:Extensions"))
        target = (provider, acs.location, root.get("ID"), message.relay_state, detail)
        try:
            verified, signed = verified_root(message, root, provider)
            request = read(verified, acs, signed)
            params = self._checked(request, provider, message.relay_state)
        except AkdbError as error:
            return self._answers.refusal(*target, error.code)
        except Unreadable as unreadable:
            return ErrorPage(str(unreadable))
        interaction_id = self._federation.begin(PROTOCOL, provider.entity_id, params)
        outcome = self._decide(interaction_id, session)
        language = params["request"]["language"]
        if isinstance(outcome, Redirect) and language in LANGUAGES:
            # The procedure's language wins for the pages the person sees next.
            return Redirect(f"/language/{language}?next={outcome.url}")
        return outcome

    def resume(self, interaction_id: uuid.UUID, session: CurrentSession | None) -> Outcome:
        return self._decide(interaction_id, session)

    def deny(self, interaction_id: uuid.UUID, reason: str) -> Outcome:
        interaction = self._federation.waiting(interaction_id)
        if interaction is None or interaction.protocol != PROTOCOL:
            return ErrorPage("The request has expired; start again at the procedure.")
        provider = self._providers.get(interaction.client_id)
        if provider is None or not self._federation.finish(interaction_id):
            return ErrorPage("The request has expired; start again at the procedure.")
        code = "consent-refused" if reason == "consent" else "authentication-cancelled"
        return self._answers.refusal_for(provider, interaction.params["request"], code)

    def _checked(
        self, request: AuthnRequest, provider: RegisteredProvider, relay_state: str | None
    ) -> dict[str, Any]:
        """Every check on a verified request, in a fixed order; AkdbError names the first miss."""
        if request.issuer != provider.entity_id:
            raise Unreadable("The signed Issuer is not the provider's entityID.")
        check_destination(request, self._sso_url)
        check_fresh(request, self._answers.now())
        check_name_id_policy(request)
        extension = parse_extension(request.extensions)
        demand = level_demand(
            request.class_refs, request.comparison, provider.minimum_trust_level, extension.methods
        )
        if unavailable(extension.required):
            raise AkdbError("required-attribute-unavailable")
        if not self._providers.first_use(
            provider.entity_id, request.request_id, fresh_until(request)
        ):
            raise AkdbError("saml-request-replayed")
        return {
            "request": _stored(request, demand, relay_state, extension),
            "client_name": extension.organisation_display_name or provider.name,
            "required_level": int(demand.required),
            "release": consent_labels(extension.oids),
            "display": {
                "organisation": extension.organisation_display_name,
                "service_id": extension.online_service_id,
                "back_url": extension.back_url,
            },
        }

    def _decide(  # noqa: PLR0911 - one return per way a waiting request can go on
        self, interaction_id: uuid.UUID, session: CurrentSession | None
    ) -> Outcome:
        interaction = self._federation.waiting(interaction_id)
        if interaction is None or interaction.protocol != PROTOCOL:
            return ErrorPage("The request has expired; start again at the procedure.")
        provider = self._providers.get(interaction.client_id)
        if provider is None:
            return ErrorPage("The procedure is no longer registered here.")
        stored: dict[str, Any] = interaction.params["request"]
        page = _missing(session, stored, interaction.created_at, interaction.params)
        if page is None and session is not None:
            labels = sorted(interaction.params.get("release", []))
            if provider.consent_required and not self._federation.consented(
                session.person_id, provider.entity_id, labels
            ):
                page = "/interaction/consent/"
        if page is not None:
            if stored["is_passive"]:
                return self._finish_refusal(interaction_id, provider, stored)
            if page == "/login?next=":
                return Redirect(f"/login?next={RESUME_PATH}{interaction_id}")
            return Redirect(f"{page}{interaction_id}")
        assert session is not None  # noqa: S101 - _missing returned None only with a session
        if not self._federation.finish(interaction_id):
            return ErrorPage("The request has already been answered.")
        return self._answers.assertion(provider, stored, session, interaction.params)

    def _finish_refusal(
        self, interaction_id: uuid.UUID, provider: RegisteredProvider, stored: dict[str, Any]
    ) -> Outcome:
        if not self._federation.finish(interaction_id):
            return ErrorPage("The request has already been answered.")
        return self._answers.refusal_for(provider, stored, "passive-not-possible")


def _missing(
    session: CurrentSession | None,
    stored: dict[str, Any],
    created_at: Any,
    params: dict[str, Any],
) -> str | None:
    if session is None or session.second_factor_pending:
        return "/login?next="
    # ForceAuthn (SAML core §3.4.1): a login completed for this very request, not an older one.
    if stored["force_authn"] and session.authenticated_at < created_at:
        return "/login?next="
    if session.level < TrustLevel(int(params["required_level"])):
        return "/interaction/step-up/"
    return None


def _stored(
    request: AuthnRequest, demand: LevelDemand, relay_state: str | None, extension: Any
) -> dict[str, Any]:
    """The request as the answer needs it, kept server-side with the interaction."""
    return {
        "id": request.request_id,
        "acs": request.acs.location,
        "relay_state": relay_state,
        "force_authn": request.force_authn,
        "is_passive": request.is_passive,
        "name_id_format": request.name_id_format,
        "comparison": demand.comparison,
        "listed": list(demand.listed),
        "vocabulary": demand.vocabulary.value,
        "oids": extension.oids,
        "required_oids": extension.required,
        "status_detail": extension.status_detail,
        "methods": sorted(extension.methods),
        "language": extension.language,
    }
