"""The SAML IdP's parts, built from the app's settings and shared services."""

from __future__ import annotations

from dataclasses import dataclass

from servicekonto.accounts.login import LoginService
from servicekonto.accounts.service import AccountService
from servicekonto.clock import Clock
from servicekonto.config import Settings
from servicekonto.federation.service import FederationService
from servicekonto.keys.service import KeyRing
from servicekonto.saml.credentials import SamlCredentials
from servicekonto.saml.endpoints import SLO_PATH, SSO_PATH, entity_id
from servicekonto.saml.issue import AnswerBuilder
from servicekonto.saml.logout import LogoutFlow
from servicekonto.saml.published import PublishedMetadata
from servicekonto.saml.service import ProviderService
from servicekonto.saml.sso import SsoFlow
from servicekonto.security.secrets import derive_key
from servicekonto.store.engine import Database


@dataclass(frozen=True)
class SamlParts:
    providers: ProviderService
    credentials: SamlCredentials
    metadata: PublishedMetadata
    sso: SsoFlow
    logout: LogoutFlow


def build_saml(  # noqa: PLR0917 - the app's shared services, each once
    settings: Settings,
    database: Database,
    clock: Clock,
    keys: KeyRing,
    federation: FederationService,
    accounts: AccountService,
    login: LoginService,
) -> SamlParts:
    issuer = entity_id(settings.issuer)
    sso_url, slo_url = settings.issuer + SSO_PATH, settings.issuer + SLO_PATH
    providers = ProviderService(database, clock)
    credentials = SamlCredentials(keys, settings.issuer)
    answers = AnswerBuilder(
        issuer=issuer,
        credentials=credentials,
        providers=providers,
        federation=federation,
        accounts=accounts,
        pseudonym_key=derive_key(settings.secret, "saml-pseudonym"),
        clock=clock,
    )
    return SamlParts(
        providers=providers,
        credentials=credentials,
        metadata=PublishedMetadata(credentials, issuer, sso_url, slo_url),
        sso=SsoFlow(sso_url, providers, federation, answers),
        logout=LogoutFlow(
            issuer=issuer,
            providers=providers,
            federation=federation,
            credentials=credentials,
            end_session=login.end_session,
            clock=clock,
        ),
    )
