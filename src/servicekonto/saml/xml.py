"""Namespaces and the one way we read XML from outside: a parser that cannot be turned on us.

A SAML message comes from the browser, so from anyone. The parser refuses what XML attacks need
(OWASP XML Security Cheat Sheet): no DTD at all (so no entity expansion — billion laughs — and no
external entities — XXE), no network access, no huge trees. Comments and processing instructions
are kept in the tree because the signature checks must see exactly what was signed; names and
values are read with `text_of`, which refuses elements that contain anything but text (a comment
inside a NameID is the classic trick to make two parsers read two different names).
"""

from __future__ import annotations

from lxml import etree

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
AKDB = "https://www.akdb.de/request/2018/09"
AKDB_CLASSIC_UI = "https://www.akdb.de/request/2018/09/classic-ui/v1"

NSMAP = {
    "saml": SAML,
    "samlp": SAMLP,
    "md": MD,
    "ds": DS,
    "xenc": XENC,
    "xenc11": XENC11,
    "xs": XS,
    "xsi": XSI,
    "akdb": AKDB,
    "classic-ui": AKDB_CLASSIC_UI,
}

BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
# A request of a few kilobytes is normal; a metadata file with many certificates a few hundred.
MAX_DOCUMENT_BYTES = 1024 * 1024


class XMLRejected(ValueError):  # noqa: N818 - a verdict on outside input, as ValueError
    """The bytes are not a document we are willing to read."""


class _NoResolving(etree.Resolver):
    """Refuses every external reference: without it libxml2 still opens a local file a DOCTYPE
    names (SYSTEM "file:///…") before we see the DTD and refuse the document."""

    def resolve(self, system_url: str, public_id: str, context: object = None) -> None:
        raise XMLRejected("external references are not allowed")


def _parser() -> etree.XMLParser:
    parser = etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        collect_ids=False,
    )
    parser.resolvers.add(_NoResolving())
    return parser


def parse(data: bytes) -> etree._Element:
    """The document's root element; XMLRejected for anything with a DTD or not well-formed."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise XMLRejected("the document is too large")
    try:
        tree = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        raise XMLRejected(f"not well-formed XML: {error.msg}") from None
    docinfo = tree.getroottree().docinfo
    doctype = getattr(docinfo, "doctype", "")
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        # A DTD has no place in SAML (SAML core §1.3.5 forbids it in messages); refuse, don't skip.
        raise XMLRejected("a document type declaration is not allowed")
    # No DTD, so no entity can be declared: an undeclared reference is a syntax error above.
    return tree


def xs_boolean(value: str | None) -> bool:
    """An xs:boolean as a message carries it ("true"/"1"), anything else false."""
    return (value or "").strip().lower() in {"true", "1"}


def qname(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


def text_of(element: etree._Element | None) -> str | None:
    """An element's text, refusing mixed content: a comment or child element would split it."""
    if element is None:
        return None
    if len(element):
        raise XMLRejected(f"{etree.QName(element).localname} must contain text only")
    return (element.text or "").strip()


def find(element: etree._Element, path: str) -> etree._Element | None:
    found: etree._Element | None = element.find(path, NSMAP)
    return found


def find_all(element: etree._Element, path: str) -> list[etree._Element]:
    return list(element.findall(path, NSMAP))
