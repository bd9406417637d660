"""Single logout (SAML profiles §4.4) for the sessions that used SAML, front channel.

A logout runs as a chain kept server-side (an interaction of protocol `saml-slo`): every
provider the session sent an assertion to gets a signed LogoutRequest in turn, through the
browser, and its LogoutResponse brings the browser back for the next one. The chain ends with
the LogoutResponse to the provider that asked (SP-initiated) or on our own page (IdP-initiated).
The person's session ends at the start, so a provider that never answers keeps no one logged in
here; a provider without a logout endpoint is skipped, and an SP-initiated answer then says
PartialLogout.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from servicekonto.clock import Clock
from servicekonto.federation.service import FederationService
from servicekonto.saml.akdb import AkdbError
from servicekonto.saml.credentials import SamlCredentials
from servicekonto.saml.encryption import DecryptionFailed, decrypt_element
from servicekonto.saml.issue import post_answer
from servicekonto.saml.metadata import Endpoint
from servicekonto.saml.requests import (
    IncomingMessage,
    Unreadable,
    claimed_issuer,
    decode,
    verified_root,
)
from servicekonto.saml.responses import Signer, Status, add_status, new_id, protocol_message
from servicekonto.saml.service import ProviderService, RegisteredProvider
from servicekonto.saml.signing import encode_redirect, sign, sign_redirect
from servicekonto.saml.sso import ErrorPage, Outcome, Redirect
from servicekonto.saml.xml import (
    BINDING_POST,
    BINDING_REDIRECT,
    SAML,
    SAMLP,
    XMLRejected,
    find,
    qname,
    text_of,
)

CHAIN = "saml-slo"  # the interaction protocol of a logout chain (fits its 10 characters)
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
PARTIAL = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"
SIGNED_OUT = "/?signed_out=1"


@dataclass(frozen=True)
class NamedSession:
    """What a provider's LogoutRequest names."""

    entity_id: str
    name_id: str
    session_index: str | None
    request_id: str


class LogoutFlow:
    def __init__(
        self,
        *,
        issuer: str,
        providers: ProviderService,
        federation: FederationService,
        credentials: SamlCredentials,
        end_session: Callable[[uuid.UUID], None],
        clock: Clock,
    ) -> None:
        self._issuer = issuer
        self._providers = providers
        self._federation = federation
        self._credentials = credentials
        # Ends one login session by id (the accounts capability; its listeners run too).
        self._end_session = end_session
        self._clock = clock

    def begin(self, login_session_id: uuid.UUID) -> uuid.UUID | None:
        """IdP-initiated: a chain for the session's providers, or None when there are none."""
        pending = self._pending(login_session_id, exclude=None)
        if not pending:
            return None
        self._providers.end_participations(login_session_id)
        return self._federation.begin(CHAIN, "-", {"pending": pending, "origin": None})

    def step(self, chain_id: uuid.UUID) -> Outcome:
        """Send the browser to the next provider, or finish the chain."""
        chain = self._federation.waiting(chain_id)
        if chain is None or chain.protocol != CHAIN:
            return Redirect(SIGNED_OUT)
        pending: list[dict[str, str]] = list(chain.params["pending"])
        skipped = bool(chain.params.get("skipped"))
        while pending:
            target = pending.pop(0)
            provider = self._providers.get(target["entity_id"])
            endpoint = _logout_endpoint(provider)
            if provider is None or endpoint is None:
                skipped = True
                continue
            request_id = new_id()
            self._federation.remember(chain_id, "pending", pending)
            self._federation.remember(chain_id, "outstanding", request_id)
            self._federation.remember(chain_id, "skipped", "1" if skipped else "")
            document = self._logout_request(provider, endpoint, target, request_id)
            return _send(
                endpoint.location,
                "SAMLRequest",
                document,
                str(chain_id),
                signer=self._signer(provider),
                binding=endpoint.binding,
            )
        self._federation.finish(chain_id)
        origin = chain.params.get("origin")
        if not origin:
            return Redirect(SIGNED_OUT)
        return self._answer_origin(origin, PARTIAL if skipped else None)

    def provider_request(self, message: IncomingMessage) -> Outcome:
        """SP-initiated: end what the LogoutRequest names, then tell the other providers."""
        try:
            named = self._read_request(message)
        except (Unreadable, AkdbError, XMLRejected, DecryptionFailed) as problem:
            return ErrorPage(f"The logout request was not accepted ({problem}).")
        sessions = self._providers.sessions_for(named.entity_id, named.name_id, named.session_index)
        pending: list[dict[str, str]] = []
        for login_session_id in sessions:
            pending += self._pending(login_session_id, exclude=named.entity_id)
            self._providers.end_participations(login_session_id)
            self._end_session(login_session_id)
        origin = {
            "entity_id": named.entity_id,
            "request_id": named.request_id,
            "relay_state": message.relay_state or "",
        }
        chain_id = self._federation.begin(
            CHAIN, named.entity_id, {"pending": pending, "origin": origin}
        )
        return self.step(chain_id)

    def provider_response(self, message: IncomingMessage) -> Outcome:
        """A LogoutResponse in a chain of ours: on to the next provider."""
        try:
            chain_id = uuid.UUID(message.relay_state or "")
        except ValueError:
            return Redirect(SIGNED_OUT)
        chain = self._federation.waiting(chain_id)
        if chain is None or chain.protocol != CHAIN:
            return Redirect(SIGNED_OUT)
        try:
            root = decode(message, "LogoutResponse")
            provider = self._providers.get(claimed_issuer(root))
            if provider is None:
                raise Unreadable("unknown provider")
            verified, _ = verified_root(message, root, provider)
        except (Unreadable, AkdbError):
            return self.step(chain_id)  # an unreadable answer does not stop the others' logout
        if verified.get("InResponseTo") != chain.params.get("outstanding"):
            return ErrorPage("The logout response does not answer our request.")
        return self.step(chain_id)

    # --- building and reading -------------------------------------------------------------

    def _pending(self, login_session_id: uuid.UUID, exclude: str | None) -> list[dict[str, str]]:
        """The providers a session reached (those still to be told), in the order reached."""
        return [
            {"entity_id": p.entity_id, "name_id": p.name_id, "session_index": p.session_index}
            for p in self._providers.participations(login_session_id)
            if p.entity_id != exclude
        ]

    def _read_request(self, message: IncomingMessage) -> NamedSession:
        root = decode(message, "LogoutRequest")
        provider = self._providers.get(claimed_issuer(root))
        if provider is None:
            raise Unreadable("the provider is not registered here")
        verified, _ = verified_root(message, root, provider)
        return NamedSession(
            entity_id=provider.entity_id,
            name_id=self._name_id(verified),
            session_index=text_of(find(verified, "samlp:SessionIndex")),
            request_id=verified.get("ID") or "",
        )

    def _name_id(self, request: etree._Element) -> str:
        name_id = find(request, "saml:NameID")
        if name_id is None and (encrypted := find(request, "saml:EncryptedID")) is not None:
            name_id = self._decrypted(encrypted)
        value = text_of(name_id)  # refuses a comment inside the NameID
        if not value:
            raise Unreadable("the logout request names no one")
        return value

    def _decrypted(self, encrypted: etree._Element) -> etree._Element:
        for key in self._credentials.decryption_keys():
            try:
                return decrypt_element(encrypted, key)
            except DecryptionFailed:
                continue
        raise DecryptionFailed("no key of ours opens the EncryptedID")

    def _signer(self, provider: RegisteredProvider) -> Signer:
        return self._credentials.signer(provider.signature_algorithm)

    def _logout_request(
        self,
        provider: RegisteredProvider,
        endpoint: Endpoint,
        target: dict[str, str],
        request_id: str,
    ) -> etree._Element:
        request = protocol_message(
            "LogoutRequest", endpoint.location, self._issuer, self._clock.now(), request_id
        )
        name_id = etree.SubElement(request, qname(SAML, "NameID"))
        name_id.set("NameQualifier", self._issuer)
        name_id.set("SPNameQualifier", provider.entity_id)
        name_id.text = target["name_id"]
        etree.SubElement(request, qname(SAMLP, "SessionIndex")).text = target["session_index"]
        return request

    def _answer_origin(self, origin: dict[str, str], second: str | None) -> Outcome:
        provider = self._providers.get(origin["entity_id"])
        endpoint = _logout_endpoint(provider)
        if provider is None or endpoint is None:
            return Redirect(SIGNED_OUT)
        location = endpoint.response_location or endpoint.location
        response = protocol_message(
            "LogoutResponse",
            location,
            self._issuer,
            self._clock.now(),
            in_response_to=origin["request_id"],
        )
        add_status(response, Status(SUCCESS, second, ""))
        relay = origin.get("relay_state") or None
        return _send(
            location,
            "SAMLResponse",
            response,
            relay,
            signer=self._signer(provider),
            binding=endpoint.binding,
        )


def _logout_endpoint(provider: RegisteredProvider | None) -> Endpoint | None:
    if provider is None:
        return None
    services = provider.metadata.single_logout_services
    for binding in (BINDING_REDIRECT, BINDING_POST):
        found = next((e for e in services if e.binding == binding), None)
        if found is not None:
            return found
    return None


def _send(
    location: str,
    parameter: str,
    document: etree._Element,
    relay_state: str | None,
    *,
    signer: Signer,
    binding: str,
) -> Outcome:
    """Redirect binding: deflated and signed in the query; POST binding: signed in the XML."""
    if binding == BINDING_REDIRECT:
        encoded = encode_redirect(etree.tostring(document))
        query = sign_redirect(parameter, encoded, relay_state, signer.key, signer.algorithm)
        separator = "&" if "?" in location else "?"
        return Redirect(f"{location}{separator}{query}")
    signed = sign(document, signer.key, signer.certificate, signer.algorithm)
    return post_answer(location, etree.tostring(signed), relay_state)
