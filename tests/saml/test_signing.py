"""Certificates, XML signatures and HTTP-Redirect signatures, checked against xmlsec1 and pysaml2.

Our signatures are verified by an independent implementation (Debian's xmlsec1 CLI); signatures
made by others (pysaml2's redirect binding) must pass our checks. The refusals replay the classic
signature-wrapping shapes of Somorovsky et al., "On Breaking SAML" (USENIX Security 2012).
"""

from __future__ import annotations

import base64
import copy
import shutil
import subprocess
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import NameOID
from lxml import etree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.xmldsig import SIG_RSA_SHA256
from signxml.algorithms import SignatureMethod
from signxml.signer import XMLSigner

from servicekonto.saml import signing
from servicekonto.saml.certificates import (
    certificate_base64,
    certificate_for,
    load_certificate,
)
from servicekonto.saml.metadata import idp_metadata
from servicekonto.saml.signing import (
    ECDSA_SHA256,
    RSA_PSS_SHA256,
    RSA_SHA256,
    RSA_SHA512,
    SignatureInvalid,
    decode_redirect,
    encode_redirect,
    sign,
    sign_redirect,
    verify,
    verify_redirect,
)
from servicekonto.saml.xml import DS, SAML, SAMLP, parse, qname
from tests.saml.sp import rsa_key

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
RESPONSE = b"""<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
    xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_response" Version="2.0"
    IssueInstant="2025-03-01T12:00:00Z" Destination="https://sp.example.org/acs">
  <saml:Issuer>https://idp.example.org</saml:Issuer>
  <samlp:Status>
    <samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>
  </samlp:Status>
  <saml:Assertion ID="_assertion" Version="2.0" IssueInstant="2025-03-01T12:00:00Z">
    <saml:Issuer>https://idp.example.org</saml:Issuer>
    <saml:Subject><saml:NameID>alice</saml:NameID></saml:Subject>
  </saml:Assertion>
</samlp:Response>"""
RESPONSE_NODE = f"{SAMLP}:Response"
ASSERTION_NODE = f"{SAML}:Assertion"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="module")
def certificate(key: rsa.RSAPrivateKey) -> x509.Certificate:
    return certificate_for(key, "idp.example.org", NOW)


@pytest.fixture(scope="module")
def other_certificate() -> x509.Certificate:
    return certificate_for(rsa_key(), "attacker.example.org", NOW)


def _assertion(root: etree._Element) -> etree._Element:
    found = root.find(qname(SAML, "Assertion"))
    assert found is not None
    return found


def _signed_response(key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> etree._Element:
    """Assertion signed, then the Response around it, as the IdP answers."""
    root = parse(RESPONSE)
    sign(_assertion(root), key, certificate)
    return sign(root, key, certificate)


def _reparsed(element: etree._Element) -> etree._Element:
    """As an SP receives it: serialised and parsed again."""
    return parse(etree.tostring(element))


def _xmlsec1() -> str:
    found = shutil.which("xmlsec1")
    assert found, (
        "xmlsec1 must be installed (apt-get install xmlsec1): it is the reference verifier"
    )
    return found


def _xmlsec1_verify(
    tmp_path: Path, document: bytes, certificate: x509.Certificate, *node_args: str
) -> subprocess.CompletedProcess[str]:
    cert_file = tmp_path / "cert.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    document_file = tmp_path / "signed.xml"
    document_file.write_bytes(document)
    command = [_xmlsec1(), "--verify", "--pubkey-cert-pem", str(cert_file), *node_args]
    return subprocess.run(
        [*command, str(document_file)], capture_output=True, text=True, check=False
    )


# --- certificates ---------------------------------------------------------------------------


def test_certificate_is_deterministic_and_self_signed(key: rsa.RSAPrivateKey) -> None:
    first = certificate_for(key, "idp.example.org", NOW)
    second = certificate_for(key, "idp.example.org", NOW)

    assert first.public_bytes(serialization.Encoding.DER) == second.public_bytes(
        serialization.Encoding.DER
    )
    first.verify_directly_issued_by(first)
    assert first.subject == first.issuer
    assert first.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "idp.example.org"
    assert 0 < first.serial_number < 2**159
    assert first.not_valid_before_utc == NOW
    assert first.not_valid_after_utc == NOW.replace(year=2035)
    assert first.signature_hash_algorithm is not None
    assert first.signature_hash_algorithm.name == "sha256"


def test_certificate_extensions(certificate: x509.Certificate) -> None:
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value

    assert constraints.value.ca is False
    assert usage.digital_signature
    assert usage.key_encipherment
    assert not usage.key_cert_sign


def test_certificate_serial_depends_on_the_key(certificate: x509.Certificate) -> None:
    other = certificate_for(rsa_key(), "idp.example.org", NOW)

    assert other.serial_number != certificate.serial_number


def test_certificate_needs_a_time_zone(key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="time zone"):
        certificate_for(key, "idp", datetime(2025, 1, 1))  # naive on purpose


def test_certificate_from_29_february_ends_on_28_february(key: rsa.RSAPrivateKey) -> None:
    leap = certificate_for(key, "idp", datetime(2024, 2, 29, tzinfo=UTC))

    assert leap.not_valid_after_utc == datetime(2034, 2, 28, tzinfo=UTC)


def test_load_certificate_tolerates_line_breaks(certificate: x509.Certificate) -> None:
    text = certificate_base64(certificate)
    wrapped = "\n  ".join(text[i : i + 64] for i in range(0, len(text), 64))

    assert "\n" not in text
    assert load_certificate(f"\n  {wrapped}\n") == certificate


@pytest.mark.parametrize("garbage", ["", "   ", "not base64!", "AAAA", "MIIB" + "A" * 40])
def test_load_certificate_refuses_garbage(garbage: str) -> None:
    with pytest.raises(ValueError, match="certificate"):
        load_certificate(garbage)


# --- signing --------------------------------------------------------------------------------


def test_signature_goes_after_the_issuer(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    signed = _signed_response(key, certificate)

    assert [etree.QName(child).localname for child in signed][:3] == [
        "Issuer",
        "Signature",
        "Status",
    ]
    assert [etree.QName(child).localname for child in _assertion(signed)][:2] == [
        "Issuer",
        "Signature",
    ]
    reference = signed.find(f"{{{DS}}}Signature/{{{DS}}}SignedInfo/{{{DS}}}Reference")
    assert reference is not None
    assert reference.get("URI") == "#_response"


def test_signature_goes_first_without_issuer(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    metadata = idp_metadata(
        "https://idp.example.org",
        sso_url="https://idp.example.org/sso",
        slo_url="https://idp.example.org/slo",
        signing_certificate=certificate,
        encryption_certificate=certificate,
        attributes=[],
    )

    signed = sign(metadata, key, certificate)

    assert signed[0].tag == qname(DS, "Signature")
    certificate_text = signed[0].find(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
    assert certificate_text is not None
    assert certificate_text.text == certificate_base64(certificate)


def test_xmlsec1_verifies_response_and_nested_assertion(
    tmp_path: Path, key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    document = etree.tostring(_signed_response(key, certificate))
    ids = ["--id-attr:ID", RESPONSE_NODE, "--id-attr:ID", ASSERTION_NODE]
    assertion_signature = (
        "/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']"
    )

    response_result = _xmlsec1_verify(tmp_path, document, certificate, *ids)
    assertion_result = _xmlsec1_verify(
        tmp_path, document, certificate, *ids, "--node-xpath", assertion_signature
    )

    assert response_result.returncode == 0, response_result.stderr
    assert assertion_result.returncode == 0, assertion_result.stderr


def test_xmlsec1_refuses_our_signature_after_tampering(
    tmp_path: Path, key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    document = etree.tostring(_signed_response(key, certificate)).replace(b"alice", b"mallory")

    result = _xmlsec1_verify(tmp_path, document, certificate, "--id-attr:ID", RESPONSE_NODE)

    assert result.returncode != 0


def test_xmlsec1_refuses_another_certificate(
    tmp_path: Path,
    key: rsa.RSAPrivateKey,
    certificate: x509.Certificate,
    other_certificate: x509.Certificate,
) -> None:
    document = etree.tostring(_signed_response(key, certificate))

    result = _xmlsec1_verify(tmp_path, document, other_certificate, "--id-attr:ID", RESPONSE_NODE)

    assert result.returncode != 0


def test_pss_signature_checks_out_with_plain_cryptography(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    """xmlsec1 1.2 knows no RSASSA-PSS; check SignedInfo by hand (RFC 9231 §2.3.10)."""
    signed = sign(parse(RESPONSE), key, certificate, RSA_PSS_SHA256)
    signed_info = signed.find(f"{{{DS}}}Signature/{{{DS}}}SignedInfo")
    value = signed.findtext(f"{{{DS}}}Signature/{{{DS}}}SignatureValue")
    assert signed_info is not None
    assert value is not None
    octets = etree.tostring(signed_info, method="c14n", exclusive=True, with_comments=False)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)

    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(base64.b64decode(value), octets, pss, hashes.SHA256())
    assert verify(_reparsed(signed), [certificate]).get("ID") == "_response"


def test_sign_refuses_unknown_algorithm_and_missing_id(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    root = parse(RESPONSE)
    with pytest.raises(ValueError, match="do not sign"):
        sign(root, key, certificate, RSA_SHA1)
    del root.attrib["ID"]
    with pytest.raises(ValueError, match="ID"):
        sign(root, key, certificate)


# --- verifying: accepted --------------------------------------------------------------------


def test_verify_returns_only_the_signed_content(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate, other_certificate: x509.Certificate
) -> None:
    received = _reparsed(_signed_response(key, certificate))

    verified = verify(received, [other_certificate, certificate])
    assertion = verify(_assertion(verified), [certificate])

    assert verified is not received
    assert verified.find(qname(DS, "Signature")) is None
    assert assertion.findtext(f"{{{SAML}}}Subject/{{{SAML}}}NameID") == "alice"


def test_verify_drops_comments_that_split_text(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    """A comment is not signed under exclusive c14n; it must not reach the reader."""
    root = parse(RESPONSE.replace(b">alice<", b">alice<!-- -->.evil.org<"))
    received = _reparsed(sign(_assertion(root), key, certificate))

    verified = verify(received, [certificate])

    assert verified.findtext(f"{{{SAML}}}Subject/{{{SAML}}}NameID") == "alice.evil.org"
    assert not any(isinstance(node, etree._Comment) for node in verified.iter())


def test_verify_accepts_expired_certificate(key: rsa.RSAPrivateKey) -> None:
    """Metadata certificates only carry keys; their dates do not count (Metadata IOP profile)."""
    old = certificate_for(key, "idp", NOW - timedelta(days=365 * 20))

    assert verify(_reparsed(sign(parse(RESPONSE), key, old)), [old]).get("ID") == "_response"


@pytest.mark.parametrize("algorithm", [SignatureMethod.RSA_SHA512, SignatureMethod.SHA256_RSA_MGF1])
def test_verify_accepts_other_rsa_algorithms(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate, algorithm: SignatureMethod
) -> None:
    signed = _signxml_sign(parse(RESPONSE), key, certificate, algorithm)

    assert verify(_reparsed(signed), [certificate]).get("ID") == "_response"


def test_verify_accepts_ecdsa(certificate: x509.Certificate) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_certificate = _ec_certificate(ec_key)
    signed = _signxml_sign(parse(RESPONSE), ec_key, ec_certificate, SignatureMethod.ECDSA_SHA256)

    assert verify(_reparsed(signed), [certificate, ec_certificate]).get("ID") == "_response"
    with pytest.raises(SignatureInvalid, match="no configured certificate"):
        verify(_reparsed(signed), [certificate])


def _signxml_sign(
    element: etree._Element,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    certificate: x509.Certificate,
    algorithm: SignatureMethod,
    signer_class: type[XMLSigner] = XMLSigner,
) -> etree._Element:
    """A signature made without our placement rules, as other implementations might."""
    signer = signer_class(
        signature_algorithm=algorithm,
        digest_algorithm="sha1" if "SHA1" in algorithm.name else "sha256",
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    uri = f"#{element.get('ID')}"
    return signer.sign(element, key=key, cert=[certificate], reference_uri=uri, id_attribute="ID")


def _ec_certificate(ec_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ec_key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=3650))
        .sign(ec_key, hashes.SHA256())
    )


# --- verifying: refused ---------------------------------------------------------------------


def test_verify_refuses_tampered_text(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    received = _reparsed(_signed_response(key, certificate))
    name_id = received.find(f".//{{{SAML}}}NameID")
    assert name_id is not None
    name_id.text = "mallory"

    with pytest.raises(SignatureInvalid, match="digest"):
        verify(received, [certificate])
    with pytest.raises(SignatureInvalid, match="digest"):
        verify(_assertion(received), [certificate])


def test_verify_refuses_unsigned_and_unknown_certificate(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate, other_certificate: x509.Certificate
) -> None:
    received = _reparsed(_signed_response(key, certificate))

    with pytest.raises(SignatureInvalid, match="any configured certificate"):
        verify(received, [other_certificate])
    with pytest.raises(SignatureInvalid, match="not signed"):
        verify(parse(RESPONSE), [certificate])
    with pytest.raises(SignatureInvalid, match="no configured certificate"):
        verify(received, [])


def test_xsw_signed_response_moved_into_extensions_behind_evil_clone(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    """XSW: the evil Response keeps the ID and the signature; the signed one hides inside it."""
    original = _reparsed(_signed_response(key, certificate))
    evil = copy.deepcopy(original)
    name_id = evil.find(f".//{{{SAML}}}NameID")
    assert name_id is not None
    name_id.text = "mallory"
    evil_signature = evil.find(qname(DS, "Signature"))
    assert evil_signature is not None
    extensions = etree.Element(qname(SAMLP, "Extensions"))
    original.remove(original[1])  # its signature now rides on the evil clone
    extensions.append(original)
    evil_signature.addnext(extensions)

    with pytest.raises(SignatureInvalid, match="malformed"):  # the ID is now ambiguous
        verify(_reparsed(evil), [certificate])


def test_xsw_signed_assertion_moved_into_signature_object(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    """XSW: the signed Assertion goes into ds:Object of its own signature; an evil one leads."""
    response = _reparsed(_signed_response(key, certificate))
    original = _assertion(response)
    evil = copy.deepcopy(original)
    name_id = evil.find(f".//{{{SAML}}}NameID")
    assert name_id is not None
    name_id.text = "mallory"
    signature = evil.find(qname(DS, "Signature"))
    assert signature is not None
    holder = etree.SubElement(signature, qname(DS, "Object"))
    original.addprevious(evil)
    original_signature = original.find(qname(DS, "Signature"))
    assert original_signature is not None
    original.remove(original_signature)
    holder.append(original)
    received = _reparsed(response)

    with pytest.raises(SignatureInvalid):
        verify(_assertion(received), [certificate])


def test_xsw_evil_assertion_with_the_same_id_and_copied_signature(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    """XSW: an evil Assertion with the signed one's ID and signature comes first."""
    root = parse(RESPONSE)
    sign(_assertion(root), key, certificate)
    signed = _reparsed(root)
    original = _assertion(signed)
    evil = copy.deepcopy(original)
    name_id = evil.find(f".//{{{SAML}}}NameID")
    assert name_id is not None
    name_id.text = "mallory"
    original.addprevious(evil)
    received = _reparsed(signed)

    with pytest.raises(SignatureInvalid, match="digest"):
        verify(_assertion(received), [certificate])
    # The genuine one still verifies, and what comes back is the genuine content, not the evil
    # element elsewhere in the document that carries the same ID.
    genuine = verify(received.findall(qname(SAML, "Assertion"))[1], [certificate])
    assert genuine.findtext(f".//{{{SAML}}}NameID") == "alice"


def test_xsw_second_assertion_inside_signed_response(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    received = _reparsed(_signed_response(key, certificate))
    evil = copy.deepcopy(_assertion(received))
    evil.set("ID", "_evil")
    evil.remove(evil[1])
    _assertion(received).addprevious(evil)

    with pytest.raises(SignatureInvalid, match="digest"):
        verify(received, [certificate])
    with pytest.raises(SignatureInvalid, match="not signed"):
        verify(_assertion(received), [certificate])


def test_verify_refuses_reference_to_another_element(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    """A valid signature over the Assertion, moved to be the Response's own."""
    root = parse(RESPONSE)
    signed_assertion = sign(_assertion(root), key, certificate)
    signature = signed_assertion.find(qname(DS, "Signature"))
    assert signature is not None
    root.insert(1, signature)

    with pytest.raises(SignatureInvalid, match="another element"):
        verify(_reparsed(root), [certificate])


def test_verify_refuses_empty_reference_uri(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    """URI="" means the whole document, which may hold more than the element."""
    root = parse(RESPONSE)
    del root.attrib["ID"]  # signxml then signs the whole document, with URI=""
    signer = XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    signed = signer.sign(root, key=key, cert=[certificate])
    signed.set("ID", "_response")
    reference = signed.find(f".//{{{DS}}}Reference")
    assert reference is not None
    assert reference.get("URI") == ""

    with pytest.raises(SignatureInvalid, match="name the element's ID"):
        verify(_reparsed(signed), [certificate])


def test_verify_refuses_sha1(key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> None:
    class Sha1Signer(XMLSigner):
        def check_deprecated_methods(self) -> None:
            """Let the test make what we must refuse."""

    signed = _signxml_sign(
        parse(RESPONSE), key, certificate, SignatureMethod.RSA_SHA1, signer_class=Sha1Signer
    )

    with pytest.raises(SignatureInvalid, match="SHA-1"):
        verify(_reparsed(signed), [certificate])


def test_verify_refuses_two_signatures_and_two_references(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    received = _reparsed(_signed_response(key, certificate))
    received.insert(1, copy.deepcopy(received[1]))
    with pytest.raises(SignatureInvalid, match="more than one signature"):
        verify(received, [certificate])

    signer = XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    two = signer.sign(
        parse(RESPONSE),
        key=key,
        cert=[certificate],
        reference_uri=["#_response", "#_assertion"],
        id_attribute="ID",
    )
    with pytest.raises(SignatureInvalid, match="exactly one reference"):
        verify(_reparsed(two), [certificate])


def test_verify_refuses_element_without_id(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    received = _reparsed(_signed_response(key, certificate))
    del received.attrib["ID"]

    with pytest.raises(SignatureInvalid, match="no ID"):
        verify(received, [certificate])


# --- HTTP-Redirect --------------------------------------------------------------------------

LOGOUT_REQUEST = (
    b'<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_l"/>'
)


@pytest.mark.parametrize("algorithm", [RSA_SHA256, RSA_PSS_SHA256])
@pytest.mark.parametrize("relay_state", [None, "state with spaces/+&=ü"])
def test_redirect_round_trip(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate, algorithm: str, relay_state: str | None
) -> None:
    query = sign_redirect(
        "SAMLRequest", encode_redirect(LOGOUT_REQUEST), relay_state, key, algorithm
    )

    verify_redirect(query, [certificate])
    verify_redirect("?" + query, [certificate])
    assert ("RelayState=" in query) is (relay_state is not None)


def test_redirect_tampered_byte_is_refused(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    query = sign_redirect("SAMLResponse", encode_redirect(LOGOUT_REQUEST), "abc", key)
    tampered = query.replace("RelayState=abc", "RelayState=abd")

    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_redirect(tampered, [certificate])


def test_redirect_parameter_order_as_received_does_not_matter(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    query = sign_redirect("SAMLRequest", encode_redirect(LOGOUT_REQUEST), "abc", key)
    reordered = "&".join(reversed(query.split("&"))) + "&extra=ignored"

    verify_redirect(reordered, [certificate])


def test_redirect_signature_from_pysaml2_is_accepted(tmp_path: Path) -> None:
    """pysaml2 signs an AuthnRequest for the redirect binding (quote_plus encoding)."""
    sp_key = rsa_key()
    sp_certificate = certificate_for(sp_key, "sp.example.org", NOW)
    client = Saml2Client(config=_pysaml2_sp_config(tmp_path, sp_key, sp_certificate))

    _, info = client.prepare_for_authenticate(
        entityid="https://idp.example.org",
        relay_state="state with spaces/+&",
        binding=BINDING_HTTP_REDIRECT,
        sign=True,
        sigalg=SIG_RSA_SHA256,
    )
    query = urlsplit(dict(info["headers"])["Location"]).query

    verify_redirect(query, [sp_certificate])
    with pytest.raises(SignatureInvalid):
        verify_redirect(query.replace("state", "statf"), [sp_certificate])


def _pysaml2_sp_config(
    tmp_path: Path, key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> SPConfig:
    key_file = tmp_path / "sp.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file = tmp_path / "sp.crt"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    idp = idp_metadata(
        "https://idp.example.org",
        sso_url="https://idp.example.org/sso",
        slo_url="https://idp.example.org/slo",
        signing_certificate=certificate,
        encryption_certificate=certificate,
        attributes=[],
    )
    config = SPConfig()
    config.load(
        {
            "entityid": "https://sp.example.org/metadata",
            "xmlsec_binary": _xmlsec1(),
            "key_file": str(key_file),
            "cert_file": str(cert_file),
            "metadata": {"inline": [etree.tostring(idp).decode()]},
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [
                            ("https://sp.example.org/acs", BINDING_HTTP_POST)
                        ]
                    },
                    "authn_requests_signed": True,
                }
            },
        }
    )
    return config


def test_redirect_ecdsa_signature_is_accepted() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    prefix = f"SAMLRequest={quote(encode_redirect(LOGOUT_REQUEST), safe='')}"
    signed = f"{prefix}&SigAlg={quote(ECDSA_SHA256, safe='')}"
    r, s = utils.decode_dss_signature(ec_key.sign(signed.encode(), ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # XML Signature's r || s
    query = f"{signed}&Signature={quote(base64.b64encode(raw).decode(), safe='')}"

    verify_redirect(query, [_ec_certificate(ec_key)])


def test_redirect_rsa_sha512_is_accepted(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    signed = f"SAMLRequest=abc&SigAlg={quote(RSA_SHA512, safe='')}"
    signature = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA512())

    verify_redirect(
        f"{signed}&Signature={quote(base64.b64encode(signature).decode(), safe='')}",
        [certificate],
    )


def test_redirect_sha1_is_refused(key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> None:
    signed = f"SAMLRequest=abc&SigAlg={quote(RSA_SHA1, safe='')}"
    signature = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    query = f"{signed}&Signature={quote(base64.b64encode(signature).decode(), safe='')}"

    with pytest.raises(SignatureInvalid, match="SHA-1"):
        verify_redirect(query, [certificate])


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("SAMLRequest=abc&SigAlg=ALG", "Signature is missing"),
        ("SAMLRequest=abc&Signature=AAAA", "SigAlg is missing"),
        ("SAMLRequest=abc&SigAlg=urn%3Aunknown&Signature=AAAA", "refused"),
        ("SAMLRequest=a&SAMLRequest=b&SigAlg=x&Signature=AAAA", "more than once"),
        ("SAMLRequest=a&SAML%52equest=b&SigAlg=x&Signature=AAAA", "URL-encoded"),
        ("SigAlg=ALG&Signature=AAAA", "exactly one of"),
        ("SAMLRequest=a&SAMLResponse=b&SigAlg=ALG&Signature=AAAA", "exactly one of"),
        ("SAMLRequest=a&SigAlg=ALG&Signature=%21%21", "base64"),
    ],
)
def test_redirect_malformed_queries_are_refused(
    certificate: x509.Certificate, query: str, reason: str
) -> None:
    with pytest.raises(SignatureInvalid, match=reason):
        verify_redirect(query.replace("ALG", quote(RSA_SHA256, safe="")), [certificate])


def test_sign_redirect_refuses_other_parameters(key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="not a SAML message parameter"):
        sign_redirect("SAMLart", "abc", None, key)


def test_redirect_encoding_round_trip() -> None:
    encoded = encode_redirect(LOGOUT_REQUEST)

    assert zlib.decompress(base64.b64decode(encoded), -15) == LOGOUT_REQUEST
    assert decode_redirect(encoded, len(LOGOUT_REQUEST)) == LOGOUT_REQUEST


def test_redirect_deflate_bomb_is_refused() -> None:
    bomb = encode_redirect(b"<a>" + b" " * 50_000_000 + b"</a>")

    assert len(bomb) < 100_000
    with pytest.raises(ValueError, match="more than 65536 bytes"):
        decode_redirect(bomb, 65536)


@pytest.mark.parametrize(
    "value",
    [
        "!!!",
        base64.b64encode(b"not deflate at all").decode(),
        encode_redirect(LOGOUT_REQUEST)[:12],
    ],
)
def test_redirect_garbage_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"base64|DEFLATE"):
        decode_redirect(value, 65536)


def test_tampering_in_raw_form_is_what_counts(
    key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> None:
    """Encoding differences are differences: %2F for / was signed, a bare / was not."""
    query = sign_redirect("SAMLRequest", encode_redirect(LOGOUT_REQUEST), "a/b", key)
    assert "RelayState=a%2Fb" in query

    with pytest.raises(SignatureInvalid):
        verify_redirect(query.replace("a%2Fb", "a/b"), [certificate])


def test_signing_module_exposes_algorithms() -> None:
    assert {RSA_SHA256, RSA_PSS_SHA256} == signing.SIGNATURE_ALGORITHMS
    assert RSA_SHA1 not in signing.ACCEPTED_SIGNATURE_ALGORITHMS


def test_redirect_decoding_tolerates_wrapping_and_unencoded_plus() -> None:
    message = LOGOUT_REQUEST * 20
    encoded = encode_redirect(message)
    while "+" not in encoded:  # make sure the case is exercised
        message += b" "
        encoded = encode_redirect(message)
    wrapped = "\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))

    assert decode_redirect(wrapped.replace("+", " "), 65536) == message
