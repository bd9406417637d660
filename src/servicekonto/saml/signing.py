"""XML signatures on SAML messages and metadata, and the query-string signatures of HTTP-Redirect.

Signing and checking go through signxml; nothing here builds signature XML from strings. The
checks are stricter than XML Signature allows, because SAML needs only one shape (SAML core §5.4):
one enveloped signature, a direct child of the signed element, with one Reference to that
element's ID. Everything else is how signature-wrapping attacks (XSW) are built, so it is refused,
and `verify` hands back only the bytes that were signed, never the tree it was given.
"""

from __future__ import annotations

import base64
import binascii
import copy
import zlib
from urllib.parse import quote, unquote_plus

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, InvalidSignature, SignXMLException
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

from servicekonto.saml.certificates import certificate_base64
from servicekonto.saml.xml import DS, SAML, qname

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
RSA_PSS_SHA256 = "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"  # RFC 9231 §2.3.10
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_WITH_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

# What we sign with: PKCS#1 v1.5 by default because every SP verifies it; PSS for SPs that ask.
SIGNATURE_ALGORITHMS = frozenset({RSA_SHA256, RSA_PSS_SHA256})
# What we accept from SPs. SHA-1 is not among them: SHA-1 collisions are practical (SHAttered,
# 2017), XML Signature 1.1 §6.2.1 discourages it and BSI TR-02102-1 recommends no SHA-1 for
# signatures, so a SHA-1 signature is refused even when it would verify.
ACCEPTED_SIGNATURE_ALGORITHMS = frozenset({RSA_SHA256, RSA_SHA512, RSA_PSS_SHA256, ECDSA_SHA256})
ACCEPTED_DIGEST_ALGORITHMS = frozenset({SHA256, SHA512})
# SAML core §5.4.3/§5.4.4: exclusive canonicalization, and no transforms besides it and enveloped.
_ACCEPTED_C14N = frozenset({EXC_C14N, EXC_C14N_WITH_COMMENTS})
_ACCEPTED_TRANSFORMS = _ACCEPTED_C14N | {ENVELOPED}
_SHA1_ALGORITHMS = frozenset(
    {
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
        "http://www.w3.org/2007/05/xmldsig-more#sha1-rsa-MGF1",
        "http://www.w3.org/2000/09/xmldsig#sha1",
    }
)
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    RSA_SHA256: hashes.SHA256,
    RSA_SHA512: hashes.SHA512,
    RSA_PSS_SHA256: hashes.SHA256,
    ECDSA_SHA256: hashes.SHA256,
}
_MESSAGE_PARAMETERS = ("SAMLRequest", "SAMLResponse")
_SIGNED_PARAMETERS = (*_MESSAGE_PARAMETERS, "RelayState", "SigAlg", "Signature")


class SignatureInvalid(Exception):  # noqa: N818 - a verdict on a message, not a bug
    """The signature is missing, malformed, made with a refused algorithm or does not verify."""


# --- XML signatures -------------------------------------------------------------------------


def sign(
    element: etree._Element,
    key: rsa.RSAPrivateKey,
    certificate: x509.Certificate,
    algorithm: str = RSA_SHA256,
) -> etree._Element:
    """Sign `element` (enveloped, Reference to its ID); returns the signed element.

    When `element` has a parent, the signed element replaces it there, so an Assertion is signed
    before the Response around it. The ds:Signature goes right after saml:Issuer, or first when
    there is none, where the schemas want it (SAML core §2.3.3, §3.2.1; metadata §2.3.2).
    """
    element_id = element.get("ID")
    if algorithm not in SIGNATURE_ALGORITHMS:
        raise ValueError(f"we do not sign with {algorithm}")
    if not element_id:
        raise ValueError("only an element with an ID attribute can be signed")
    if element.find(qname(DS, "Signature")) is not None:
        raise ValueError("the element is signed already")
    working = copy.deepcopy(element)
    working.tail = None
    _insert_placeholder(working)
    signer = XMLSigner(
        signature_algorithm=SignatureMethod(algorithm),
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(
        working,
        key=key,
        key_info=_key_info(certificate),
        reference_uri=f"#{element_id}",
        id_attribute="ID",
    )
    _replace_in_parent(element, signed)
    return signed


def _insert_placeholder(element: etree._Element) -> None:
    # signxml puts the signature where it finds <ds:Signature Id="placeholder"/>.
    placeholder = etree.Element(qname(DS, "Signature"), {"Id": "placeholder"}, nsmap={"ds": DS})
    issuer = element.find(qname(SAML, "Issuer"))
    if issuer is None:
        placeholder.tail = element.text
        element.insert(0, placeholder)
    else:
        placeholder.tail = issuer.tail
        issuer.addnext(placeholder)


def _key_info(certificate: x509.Certificate) -> etree._Element:
    # Built here rather than by signxml so the certificate is one line, as in our metadata.
    key_info = etree.Element(qname(DS, "KeyInfo"), nsmap={"ds": DS})
    x509_data = etree.SubElement(key_info, qname(DS, "X509Data"))
    etree.SubElement(x509_data, qname(DS, "X509Certificate")).text = certificate_base64(certificate)
    return key_info


def _replace_in_parent(original: etree._Element, signed: etree._Element) -> None:
    parent = original.getparent()
    if parent is not None:
        signed.tail = original.tail
        parent.replace(original, signed)


def verify(element: etree._Element, certificates: list[x509.Certificate]) -> etree._Element:
    """The signed content of `element`, checked against one of `certificates`.

    The returned element is parsed from the canonical bytes that were signed (without the
    signature and without comments); read from it, not from `element`, so nothing unsigned is
    ever read. A key or certificate inside the message is never trusted by itself.
    """
    element_id = element.get("ID")
    if not element_id:
        raise SignatureInvalid("the signed element has no ID")
    algorithm = _check_signature_shape(_only_signature(element), element_id)
    candidates = [c for c in certificates if _fits(c, algorithm)]
    if not candidates:
        raise SignatureInvalid("no configured certificate has a key for this algorithm")
    # Only the element's own subtree goes to signxml, so an element elsewhere in the document
    # carrying the same ID cannot be what the Reference resolves to.
    data = etree.tostring(element, with_tail=False)
    result = _verify_with_any(data, candidates)
    signed = result.signed_xml
    if signed is None or signed.tag != element.tag or signed.get("ID") != element_id:
        raise SignatureInvalid("the signature does not cover the element")
    return signed


def _only_signature(element: etree._Element) -> etree._Element:
    signatures = element.findall(qname(DS, "Signature"))
    if not signatures:
        raise SignatureInvalid("the element is not signed")
    if len(signatures) > 1:
        raise SignatureInvalid("the element carries more than one signature")
    return signatures[0]


def _check_signature_shape(signature: etree._Element, element_id: str) -> str:
    """Refuse early, with a clear reason, what signxml would refuse or accept too broadly.

    Returns the signature algorithm.
    """
    signed_info = _child(signature, "SignedInfo")
    _check_algorithm(_child(signed_info, "CanonicalizationMethod"), _ACCEPTED_C14N)
    algorithm = _check_algorithm(
        _child(signed_info, "SignatureMethod"), ACCEPTED_SIGNATURE_ALGORITHMS
    )
    references = signed_info.findall(qname(DS, "Reference"))
    if len(references) != 1:
        raise SignatureInvalid("the signature must have exactly one reference")
    _check_reference(references[0], element_id)
    return algorithm


def _check_reference(reference: etree._Element, element_id: str) -> None:
    uri = reference.get("URI")
    if not uri:
        # SAML core §5.4.2: the URI names the signed element's ID. An empty URI means the whole
        # document, which may be more or other than this element.
        raise SignatureInvalid("the reference must name the element's ID")
    if uri != f"#{element_id}":
        raise SignatureInvalid("the reference points to another element")
    _check_algorithm(_child(reference, "DigestMethod"), ACCEPTED_DIGEST_ALGORITHMS)
    for transform in reference.iterfind(f"{qname(DS, 'Transforms')}/{qname(DS, 'Transform')}"):
        _check_algorithm(transform, _ACCEPTED_TRANSFORMS)


def _child(parent: etree._Element, local: str) -> etree._Element:
    child = parent.find(qname(DS, local))
    if child is None:
        raise SignatureInvalid(f"the signature has no {local}")
    return child


def _check_algorithm(node: etree._Element, accepted: frozenset[str]) -> str:
    return _accepted(node.get("Algorithm", ""), accepted)


def _accepted(algorithm: str, accepted: frozenset[str]) -> str:
    if algorithm in _SHA1_ALGORITHMS:
        raise SignatureInvalid("SHA-1 is refused")
    if algorithm not in accepted:
        raise SignatureInvalid(f"the algorithm {algorithm or '(none)'} is refused")
    return algorithm


def _fits(certificate: x509.Certificate, algorithm: str) -> bool:
    """Whether the certificate's key can have made a signature with `algorithm`."""
    key = certificate.public_key()
    if algorithm == ECDSA_SHA256:
        return isinstance(key, ec.EllipticCurvePublicKey)
    return isinstance(key, rsa.RSAPublicKey)


def _verify_with_any(data: bytes, certificates: list[x509.Certificate]) -> VerifyResult:
    for certificate in certificates:
        try:
            return _verify_with(data, certificate)
        except InvalidDigest:
            # The signature value matched a configured key, so the signed content was altered.
            raise SignatureInvalid("the signed content was altered (digest mismatch)") from None
        except InvalidSignature:
            continue
        except (SignXMLException, etree.DocumentInvalid) as error:
            raise SignatureInvalid(f"the signature is malformed: {error}") from None
    raise SignatureInvalid("the signature does not verify with any configured certificate")


def _verify_with(data: bytes, certificate: x509.Certificate) -> VerifyResult:
    config = SignatureConfiguration(
        location="./",  # a direct child of the signed element, nowhere deeper
        expect_references=1,
        signature_methods=frozenset(SignatureMethod(a) for a in ACCEPTED_SIGNATURE_ALGORITHMS),
        digest_algorithms=frozenset(DigestAlgorithm(a) for a in ACCEPTED_DIGEST_ALGORITHMS),
        # A metadata certificate only carries the key; its validity dates are not checked
        # (SAML V2.0 Metadata Interoperability Profile) — the metadata says whom to trust.
        verification_time=certificate.not_valid_before_utc,
    )
    result = XMLVerifier().verify(
        data, x509_cert=certificate, id_attribute="ID", expect_config=config
    )
    if not isinstance(result, VerifyResult):  # expect_references=1 gives one result
        raise SignatureInvalid("the signature must have exactly one reference")
    return result


# --- HTTP-Redirect binding (SAML bindings §3.4.4.1) -----------------------------------------


def verify_redirect(query_string: str, certificates: list[x509.Certificate]) -> None:
    """Check the Signature of a redirect-bound message against one of `certificates`.

    `query_string` is the raw query as received: the signed octets are the parameters exactly as
    they were URL-encoded on the wire, which a decode and re-encode would not reproduce.
    """
    raw = _raw_parameters(query_string)
    algorithm = _accepted(unquote_plus(_required(raw, "SigAlg")), ACCEPTED_SIGNATURE_ALGORITHMS)
    signature = _base64(unquote_plus(_required(raw, "Signature")))
    octets = _signed_octets(raw)
    if not any(_verify_octets(c, algorithm, signature, octets) for c in certificates):
        raise SignatureInvalid("the signature does not verify with any configured certificate")


def _raw_parameters(query_string: str) -> dict[str, str]:
    raw: dict[str, str] = {}
    for pair in query_string.lstrip("?").split("&"):
        raw_name, _, value = pair.partition("=")
        name = unquote_plus(raw_name)
        if name not in _SIGNED_PARAMETERS:
            continue
        if name != raw_name:
            # The framework decodes names; "SAML%52equest" would reach it as a second SAMLRequest.
            raise SignatureInvalid(f"the parameter name {name} is URL-encoded")
        if name in raw:
            # Two values leave it open which one the signature and which one the reader saw.
            raise SignatureInvalid(f"the parameter {name} occurs more than once")
        raw[name] = value
    return raw


def _required(raw: dict[str, str], name: str) -> str:
    value = raw.get(name)
    if not value:
        raise SignatureInvalid(f"the parameter {name} is missing")
    return value


def _signed_octets(raw: dict[str, str]) -> bytes:
    messages = [name for name in _MESSAGE_PARAMETERS if name in raw]
    if len(messages) != 1:
        raise SignatureInvalid("exactly one of SAMLRequest and SAMLResponse is required")
    names = (messages[0], "RelayState", "SigAlg")
    return "&".join(f"{name}={raw[name]}" for name in names if name in raw).encode("ascii")


def _base64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise SignatureInvalid("the signature is not valid base64") from None


def _verify_octets(
    certificate: x509.Certificate, algorithm: str, signature: bytes, octets: bytes
) -> bool:
    key = certificate.public_key()
    digest = _HASHES[algorithm]()
    try:
        if isinstance(key, rsa.RSAPublicKey) and algorithm != ECDSA_SHA256:
            key.verify(signature, octets, _rsa_padding(algorithm), digest)
            return True
        if isinstance(key, ec.EllipticCurvePublicKey) and algorithm == ECDSA_SHA256:
            key.verify(_dss_signature(signature, key), octets, ec.ECDSA(digest))
            return True
    except (CryptoInvalidSignature, ValueError):
        return False
    return False  # the certificate's key does not fit the algorithm


def _rsa_padding(algorithm: str) -> padding.AsymmetricPadding:
    if algorithm == RSA_PSS_SHA256:
        # RFC 9231 §2.3.10: MGF1 with the same hash, salt as long as the hash output.
        return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    return padding.PKCS1v15()


def _dss_signature(signature: bytes, key: ec.EllipticCurvePublicKey) -> bytes:
    # XML Signature 1.1 §6.4.3 encodes ECDSA as r || s; a DER sequence is taken as it is.
    size = (key.curve.key_size + 7) // 8
    if len(signature) != 2 * size:
        return signature
    r, s = signature[:size], signature[size:]
    return utils.encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))


def sign_redirect(
    parameter: str,
    encoded_message: str,
    relay_state: str | None,
    key: rsa.RSAPrivateKey,
    algorithm: str = RSA_SHA256,
) -> str:
    """The query string carrying `encoded_message` (from `encode_redirect`), SigAlg, Signature."""
    if parameter not in _MESSAGE_PARAMETERS:
        raise ValueError(f"{parameter} is not a SAML message parameter")
    if algorithm not in SIGNATURE_ALGORITHMS:
        raise ValueError(f"we do not sign with {algorithm}")
    pairs = [(parameter, encoded_message)]
    if relay_state is not None:
        pairs.append(("RelayState", relay_state))
    pairs.append(("SigAlg", algorithm))
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in pairs)
    signature = key.sign(query.encode("ascii"), _rsa_padding(algorithm), _HASHES[algorithm]())
    encoded_signature = quote(base64.b64encode(signature).decode("ascii"), safe="")
    return f"{query}&Signature={encoded_signature}"


def encode_redirect(xml_bytes: bytes) -> str:
    """DEFLATE without zlib header, then base64 (SAML bindings §3.4.4.1); not yet URL-encoded."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = compressor.compress(xml_bytes) + compressor.flush()
    return base64.b64encode(deflated).decode("ascii")


def decode_redirect(value: str, limit: int) -> bytes:
    """The message in a URL-decoded SAMLRequest/SAMLResponse; ValueError past `limit` bytes.

    Inflating stops at `limit` + 1 bytes: a few kilobytes of DEFLATE can expand to gigabytes.
    A space is taken for the "+" that some SPs leave unencoded (form decoding makes it a space);
    line breaks from wrapping encoders are dropped.
    """
    try:
        compact = "".join(value.replace(" ", "+").split())
        deflated = base64.b64decode(compact, validate=True)
    except binascii.Error:
        raise ValueError("the message is not valid base64") from None
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(deflated, limit + 1)
    except zlib.error:
        raise ValueError("the message is not DEFLATE-compressed") from None
    if len(inflated) > limit:
        raise ValueError(f"the message inflates to more than {limit} bytes")
    if not inflater.eof:
        raise ValueError("the DEFLATE stream is truncated")
    return inflated
