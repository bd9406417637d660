"""The AKDB request extension of the federal citizen account: `akdb:AuthenticationRequest`
(namespace https://www.akdb.de/request/2018/09, Version 2) inside the AuthnRequest's
`samlp:Extensions`.

```xml
<akdb:AuthenticationRequest Version="2">
  <akdb:AuthnMethods>                         <!-- optional: which ways to log in to offer -->
    <akdb:Benutzername><akdb:Enabled>true</akdb:Enabled></akdb:Benutzername>
    <akdb:eID><akdb:Enabled>true</akdb:Enabled></akdb:eID>
  </akdb:AuthnMethods>
  <akdb:RequestedAttributes>
    <akdb:RequestedAttribute Name="urn:oid:2.5.4.42" RequiredAttribute="true"/>
  </akdb:RequestedAttributes>
  <akdb:DisplayInformation>
    <classic-ui:Version>                      <!-- …/request/2018/09/classic-ui/v1 -->
      <classic-ui:OrganizationDisplayName>…</classic-ui:OrganizationDisplayName>
      <classic-ui:OnlineServiceId>…</classic-ui:OnlineServiceId>
      <classic-ui:Lang>de</classic-ui:Lang>
      <classic-ui:BackURL>https://…</classic-ui:BackURL>
    </classic-ui:Version>
  </akdb:DisplayInformation>
  <akdb:EnableStatusDetail>true</akdb:EnableStatusDetail>
</akdb:AuthenticationRequest>
```

An unusable extension is answered with one of the error codes in `ERROR_CODES`, in the
response's StatusMessage and, when EnableStatusDetail asks, in its StatusDetail.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from servicekonto.saml.xml import (
    AKDB,
    AKDB_CLASSIC_UI,
    XMLRejected,
    find_all,
    qname,
    text_of,
    xs_boolean,
)

VERSION = "2"
MAX_REQUESTED_ATTRIBUTES = 50
MAX_DISPLAY_LENGTH = 200
# The ways to log in the extension can name that we offer, by its element name.
METHOD_PASSWORD = "Benutzername"
METHOD_EID = "eID"
OFFERED_METHODS = frozenset({METHOD_PASSWORD, METHOD_EID})

ERROR_CODES = {
    "akdb-extension-missing": "The AuthnRequest carries no akdb:AuthenticationRequest extension.",
    "akdb-extension-version-unsupported": "Only Version 2 of the AKDB extension is supported.",
    "akdb-extension-invalid": "The AKDB extension is not well formed.",
    "requested-attributes-empty": "The AKDB extension requests no attributes.",
    "requested-attribute-invalid": "A RequestedAttribute has no urn:oid: Name.",
    "authn-methods-unsupported": "None of the enabled AuthnMethods is offered here.",
    "display-information-invalid": "DisplayInformation is too long or its BackURL not https.",
    "required-attribute-unavailable": "A RequiredAttribute cannot be delivered for this person.",
    "saml-request-not-signed": "The AuthnRequest is not signed, and this provider must sign.",
    "saml-request-signature-invalid": "The AuthnRequest's signature does not verify.",
    "saml-request-expired": "The AuthnRequest's IssueInstant is too old or in the future.",
    "saml-request-replayed": "This AuthnRequest ID has been used before.",
    "saml-request-destination-invalid": "The AuthnRequest's Destination is not this endpoint.",
    "authn-context-unsupported": "None of the requested AuthnContextClassRefs is known.",
    "name-id-policy-unsupported": "The requested NameID format is not supported.",
    "authentication-cancelled": "The person cancelled the login.",
    "consent-refused": "The person did not agree to release the attributes.",
    "passive-not-possible": "IsPassive was set but the person would have to act.",
}


class AkdbError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(ERROR_CODES[code])
        self.code = code


@dataclass(frozen=True)
class RequestedAttribute:
    name: str
    required: bool


@dataclass(frozen=True)
class AkdbRequest:
    attributes: tuple[RequestedAttribute, ...]
    methods: frozenset[str]  # of OFFERED_METHODS, those the procedure enabled
    organisation_display_name: str | None
    online_service_id: str | None
    language: str | None
    back_url: str | None
    status_detail: bool

    @property
    def oids(self) -> list[str]:
        return [attribute.name for attribute in self.attributes]

    @property
    def required(self) -> list[str]:
        return [attribute.name for attribute in self.attributes if attribute.required]


def status_detail_wanted(extensions: etree._Element | None) -> bool:
    """EnableStatusDetail, read leniently: an error about the extension still honours it."""
    if extensions is None:
        return False
    flags = extensions.iter(qname(AKDB, "EnableStatusDetail"))
    return any(xs_boolean(flag.text) for flag in flags)


def parse_extension(extensions: etree._Element | None) -> AkdbRequest:
    """The extension of a (verified) AuthnRequest's Extensions element; AkdbError otherwise."""
    found = [] if extensions is None else find_all(extensions, "akdb:AuthenticationRequest")
    if len(found) != 1:
        raise AkdbError("akdb-extension-missing" if not found else "akdb-extension-invalid")
    request = found[0]
    if request.get("Version") != VERSION:
        raise AkdbError("akdb-extension-version-unsupported")
    try:
        return _parse(request)
    except XMLRejected:
        raise AkdbError("akdb-extension-invalid") from None


def _parse(request: etree._Element) -> AkdbRequest:
    display = _display(request)
    return AkdbRequest(
        attributes=_attributes(request),
        methods=_methods(request),
        organisation_display_name=display.get("OrganizationDisplayName"),
        online_service_id=display.get("OnlineServiceId"),
        language=display.get("Lang"),
        back_url=display.get("BackURL"),
        status_detail=any(xs_boolean(f.text) for f in find_all(request, "akdb:EnableStatusDetail")),
    )


def _attributes(request: etree._Element) -> tuple[RequestedAttribute, ...]:
    listed = find_all(request, "akdb:RequestedAttributes/akdb:RequestedAttribute")
    if not listed:
        raise AkdbError("requested-attributes-empty")
    if len(listed) > MAX_REQUESTED_ATTRIBUTES:
        raise AkdbError("akdb-extension-invalid")
    attributes = []
    for element in listed:
        name = (element.get("Name") or "").strip()
        if not name.startswith("urn:oid:"):
            raise AkdbError("requested-attribute-invalid")
        required = (element.get("RequiredAttribute") or "false").strip().lower() in {"true", "1"}
        attributes.append(RequestedAttribute(name, required))
    return tuple(attributes)


def _methods(request: etree._Element) -> frozenset[str]:
    """Enabled methods we offer; without AuthnMethods every method we offer is allowed."""
    block = find_all(request, "akdb:AuthnMethods")
    if not block:
        return OFFERED_METHODS
    enabled = {
        etree.QName(method).localname
        for method in block[0]
        if isinstance(method.tag, str)
        and any(xs_boolean(flag.text) for flag in find_all(method, "akdb:Enabled"))
    }
    offered = frozenset(enabled & OFFERED_METHODS)
    if not offered:
        raise AkdbError("authn-methods-unsupported")
    return offered


def _display(request: etree._Element) -> dict[str, str]:
    values: dict[str, str] = {}
    for version in find_all(request, "akdb:DisplayInformation/classic-ui:Version"):
        for child in version:
            if not isinstance(child.tag, str) or etree.QName(child).namespace != AKDB_CLASSIC_UI:
                continue
            value = text_of(child) or ""
            if len(value) > MAX_DISPLAY_LENGTH:
                raise AkdbError("display-information-invalid")
            values[etree.QName(child).localname] = value
    back = values.get("BackURL")
    if back is not None and urlsplit(back).scheme != "https":
        # Shown as a link to the person: only a real https address, never javascript: or data:.
        raise AkdbError("display-information-invalid")
    return values
