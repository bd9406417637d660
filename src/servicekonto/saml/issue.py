"""The answers the SSO endpoint posts to a provider: an assertion, or a refusal with the SAML
status (SAML core §3.2.2.2) and the AKDB error code."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509

from servicekonto.accounts.login import CurrentSession
from servicekonto.accounts.service import AccountService
from servicekonto.clock import Clock
from servicekonto.federation.service import FederationService
from servicekonto.saml import responses
from servicekonto.saml.akdb import ERROR_CODES
from servicekonto.saml.attributes import (
    LoginFacts,
    Released,
    SamlPerson,
    mailbox,
    name_id,
    pseudonym,
    release,
)
from servicekonto.saml.certificates import load_certificate
from servicekonto.saml.credentials import SamlCredentials
from servicekonto.saml.demands import LevelDemand, class_ref, reported_level
from servicekonto.saml.requests import NAME_ID_PERSISTENT, NAME_ID_TRANSIENT
from servicekonto.saml.responses import Recipient, Status, Subject
from servicekonto.saml.service import ProviderService, RegisteredProvider
from servicekonto.trust.levels import TrustLevel
from servicekonto.trust.vocabularies import Vocabulary

R = responses
# Each AKDB error code with its SAML status: the provider's software branches on these.
STATUS_FOR: dict[str, tuple[str, str]] = {
    "akdb-extension-missing": (R.REQUESTER, R.REQUEST_UNSUPPORTED),
    "akdb-extension-version-unsupported": (R.REQUESTER, R.REQUEST_UNSUPPORTED),
    "akdb-extension-invalid": (R.REQUESTER, R.REQUEST_UNSUPPORTED),
    "requested-attributes-empty": (R.REQUESTER, R.REQUEST_UNSUPPORTED),
    "requested-attribute-invalid": (R.REQUESTER, R.REQUEST_UNSUPPORTED),
    "display-information-invalid": (R.REQUESTER, R.REQUEST_UNSUPPORTED),
    "authn-methods-unsupported": (R.REQUESTER, R.REQUEST_UNSUPPORTED),
    "saml-request-not-signed": (R.REQUESTER, R.REQUEST_DENIED),
    "saml-request-signature-invalid": (R.REQUESTER, R.REQUEST_DENIED),
    "saml-request-expired": (R.REQUESTER, R.REQUEST_DENIED),
    "saml-request-replayed": (R.REQUESTER, R.REQUEST_DENIED),
    "saml-request-destination-invalid": (R.REQUESTER, R.REQUEST_DENIED),
    "authn-context-unsupported": (R.RESPONDER, R.NO_AUTHN_CONTEXT),
    "name-id-policy-unsupported": (R.RESPONDER, R.INVALID_NAME_ID_POLICY),
    "required-attribute-unavailable": (R.RESPONDER, R.REQUEST_DENIED),
    "authentication-cancelled": (R.RESPONDER, R.AUTHN_FAILED),
    "consent-refused": (R.RESPONDER, R.REQUEST_DENIED),
    "passive-not-possible": (R.RESPONDER, R.NO_PASSIVE),
}


@dataclass(frozen=True)
class PostToProvider:
    """HTTP-POST binding (SAML bindings §3.5): the browser posts the answer to the ACS."""

    action: str
    fields: dict[str, str]


class AnswerBuilder:
    def __init__(
        self,
        *,
        issuer: str,
        credentials: SamlCredentials,
        providers: ProviderService,
        federation: FederationService,
        accounts: AccountService,
        pseudonym_key: bytes,
        clock: Clock,
    ) -> None:
        self._issuer = issuer
        self._credentials = credentials
        self._providers = providers
        self._federation = federation
        self._accounts = accounts
        self._key = pseudonym_key
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()

    def refusal(  # noqa: PLR0917 - the five facts of a refused request, in the order of ACS
        self,
        provider: RegisteredProvider,
        acs_url: str,
        request_id: str | None,
        relay_state: str | None,
        detail: bool,
        code: str,
    ) -> PostToProvider:
        top, second = STATUS_FOR[code]
        status = Status(top, second, f"{code}: {ERROR_CODES[code]}", code if detail else None)
        recipient = Recipient(provider.entity_id, acs_url, request_id)
        signer = self._credentials.signer(provider.signature_algorithm)
        document = responses.failure(self._issuer, recipient, status, self.now(), signer)
        return post_answer(acs_url, document, relay_state)

    def refusal_for(
        self, provider: RegisteredProvider, stored: dict[str, Any], code: str
    ) -> PostToProvider:
        return self.refusal(
            provider,
            stored["acs"],
            stored["id"],
            stored["relay_state"],
            bool(stored["status_detail"]),
            code,
        )

    def assertion(
        self,
        provider: RegisteredProvider,
        stored: dict[str, Any],
        session: CurrentSession,
        params: dict[str, Any],
    ) -> PostToProvider:
        person = self._accounts.profile(session.person_id)
        if person is None:
            return self.refusal_for(provider, stored, "authentication-cancelled")
        demand = LevelDemand(
            TrustLevel(int(params["required_level"])),
            stored["comparison"],
            tuple(stored["listed"]),
            Vocabulary(stored["vocabulary"]),
        )
        level = reported_level(demand, session.level)
        subject_name = self._name_id(provider, stored, session)
        released = self._released(person, provider, session, level, demand, stored["oids"])
        missing = set(stored["required_oids"]) - {item.attribute.oid for item in released}
        if missing:
            return self.refusal_for(provider, stored, "required-attribute-unavailable")
        session_index = responses.new_id()
        self._record(provider, session, subject_name, session_index, released, level)
        subject = Subject(
            name_id=subject_name,
            name_id_format=stored["name_id_format"] or NAME_ID_PERSISTENT,
            session_index=session_index,
            authn_instant=session.authenticated_at,
            class_ref=class_ref(level, demand.vocabulary),
        )
        recipient = Recipient(provider.entity_id, stored["acs"], stored["id"])
        document = responses.success(
            self._issuer,
            recipient,
            subject,
            released,
            now=self.now(),
            signer=self._credentials.signer(provider.signature_algorithm),
            encryption_certificate=_encryption_certificate(provider),
        )
        return post_answer(stored["acs"], document, stored["relay_state"])

    def _name_id(
        self, provider: RegisteredProvider, stored: dict[str, Any], session: CurrentSession
    ) -> str:
        if stored["name_id_format"] == NAME_ID_TRANSIENT:
            return responses.new_id()
        return name_id(self._key, provider.entity_id, str(session.person_id))

    def _released(  # noqa: PLR0917 - private, called once
        self,
        person: SamlPerson,
        provider: RegisteredProvider,
        session: CurrentSession,
        level: TrustLevel,
        demand: LevelDemand,
        oids: list[str],
    ) -> list[Released]:
        facts = LoginFacts(
            level=level,
            level_value=class_ref(level, demand.vocabulary),
            methods=session.methods,
            pseudonym=pseudonym(self._key, provider.entity_id, str(session.person_id)),
            mailbox=mailbox(name_id(self._key, provider.entity_id, str(session.person_id))),
        )
        return release(person, facts, oids)

    def _record(  # noqa: PLR0917 - private, called once
        self,
        provider: RegisteredProvider,
        session: CurrentSession,
        subject_name: str,
        session_index: str,
        released: list[Released],
        level: TrustLevel,
    ) -> None:
        self._providers.participated(
            session.session_id, provider.entity_id, subject_name, session_index
        )
        self._federation.record_release(
            session.person_id,
            (provider.entity_id, provider.name, provider.authority_id),
            [item.attribute.friendly_name for item in released],
            int(level),
            subject=subject_name,
        )


def _encryption_certificate(provider: RegisteredProvider) -> x509.Certificate | None:
    certificates = provider.metadata.encryption_certificates
    return load_certificate(certificates[0]) if certificates else None


def post_answer(action: str, document: bytes, relay_state: str | None) -> PostToProvider:
    fields = {"SAMLResponse": base64.b64encode(document).decode("ascii")}
    if relay_state:
        fields["RelayState"] = relay_state
    return PostToProvider(action, fields)
