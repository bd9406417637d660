"""XML Encryption of assertions, checked against independent implementations.

Our output is decrypted by Debian's xmlsec1 and by pysaml2 (which drives the same binary the way
a pysaml2 SP does); xmlsec1's own encryption is decrypted by our code. The inputs xmlsec1 cannot
produce (xmlenc11 rsa-oaep, EncryptedKey siblings, hostile plaintexts) come from a small
encryptor in this file written straight from the spec with `cryptography`, not from the module
under test.
"""

from __future__ import annotations

import base64
import datetime
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from lxml import etree
from saml2.saml import assertion_from_string
from saml2.sigver import CryptoBackendXmlSec1
from signxml.algorithms import SignatureConstructionMethod
from signxml.signer import XMLSigner

from servicekonto.saml.encryption import DecryptionFailed, decrypt_element, encrypt_assertion
from servicekonto.saml.xml import DS, SAML, SAMLP, XENC, XENC11, XS, XSI, qname
from tests.saml.sp import rsa_key

ELEMENT = XENC + "Element"
AES128_GCM = XENC11 + "aes128-gcm"
AES256_GCM = XENC11 + "aes256-gcm"
AES128_CBC = XENC + "aes128-cbc"
AES256_CBC = XENC + "aes256-cbc"
RSA_OAEP_MGF1P = XENC + "rsa-oaep-mgf1p"
RSA_OAEP = XENC11 + "rsa-oaep"
SHA1 = DS + "sha1"
SHA256 = XENC + "sha256"
MGF1_SHA1 = XENC11 + "mgf1sha1"
MGF1_SHA256 = XENC11 + "mgf1sha256"
ASSERTION_ID_ATTR = f"--id-attr:ID {SAML}:Assertion".split()
FAILED = "decryption failed"


# --- keys, certificates, files ------------------------------------------------------------------


def _certificate(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sp.example")])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def sp_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="module")
def sp_cert(sp_key: rsa.RSAPrivateKey) -> x509.Certificate:
    return _certificate(sp_key)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="module")
def idp_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="module")
def xmlsec1() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        pytest.fail("xmlsec1 is required: it is the independent implementation SPs decrypt with")
    return path


@pytest.fixture
def sp_key_pem(tmp_path: Path, sp_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "sp-key.pem"
    path.write_bytes(
        sp_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture
def sp_cert_pem(tmp_path: Path, sp_cert: x509.Certificate) -> Path:
    path = tmp_path / "sp-cert.pem"
    path.write_bytes(sp_cert.public_bytes(serialization.Encoding.PEM))
    return path


def _run(*command: str | Path) -> bytes:
    done = subprocess.run([str(part) for part in command], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


# --- assertions ---------------------------------------------------------------------------------


def _assertion() -> etree._Element:
    """An assertion inside a Response that alone declares the xs/xsi namespaces it uses."""
    nsmap = {"samlp": SAMLP, "saml": SAML, "xs": XS, "xsi": XSI}
    response = etree.Element(qname(SAMLP, "Response"), nsmap=nsmap, ID="_r1", Version="2.0")
    assertion = etree.SubElement(response, qname(SAML, "Assertion"), ID="_a1", Version="2.0")
    assertion.set("IssueInstant", "2026-01-01T00:00:00Z")
    etree.SubElement(assertion, qname(SAML, "Issuer")).text = "https://idp.example/"
    statement = etree.SubElement(assertion, qname(SAML, "AttributeStatement"))
    attribute = etree.SubElement(statement, qname(SAML, "Attribute"), Name="surname")
    value = etree.SubElement(attribute, qname(SAML, "AttributeValue"))
    value.set(qname(XSI, "type"), "xs:string")
    value.text = "Müller"
    return assertion


def _signed_assertion(idp_key: rsa.RSAPrivateKey) -> etree._Element:
    assertion = _assertion()
    # signxml replaces this placeholder, so the Signature sits after Issuer (SAML core §2.3.3).
    placeholder = etree.Element(qname(DS, "Signature"), Id="placeholder")
    assertion.insert(1, placeholder)
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    signed: etree._Element = signer.sign(assertion, key=idp_key, reference_uri="_a1")
    return signed


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=True)


def _in_response(encrypted: etree._Element) -> bytes:
    response = etree.Element(qname(SAMLP, "Response"), nsmap={"samlp": SAMLP}, ID="_r2")
    response.append(encrypted)
    return etree.tostring(response)


def _find_assertion(document: bytes) -> etree._Element:
    found = etree.fromstring(document).find(f".//{qname(SAML, 'Assertion')}")
    assert found is not None
    return found


# --- what we send -------------------------------------------------------------------------------


def _at(element: etree._Element, path: str, attribute: str | None = None) -> str | None:
    """An attribute (or the text) of the one node at `path`, written with xenc:/ds: prefixes."""
    found = element.xpath(path, namespaces={"xenc": XENC, "ds": DS})
    assert isinstance(found, list)
    assert len(found) == 1, path
    node = found[0]
    assert isinstance(node, etree._Element)
    return node.get(attribute) if attribute else node.text


def test_output_uses_the_profile_algorithms(sp_cert: x509.Certificate) -> None:
    encrypted = encrypt_assertion(_assertion(), sp_cert)

    assert encrypted.tag == qname(SAML, "EncryptedAssertion")
    assert _at(encrypted, "xenc:EncryptedData", "Type") == ELEMENT
    assert _at(encrypted, "xenc:EncryptedData/xenc:EncryptionMethod", "Algorithm") == AES256_GCM
    # The key travels inside the EncryptedData's KeyInfo, where pysaml2 and Shibboleth look.
    key = "xenc:EncryptedData/ds:KeyInfo/xenc:EncryptedKey"
    assert _at(encrypted, f"{key}/xenc:EncryptionMethod", "Algorithm") == RSA_OAEP_MGF1P
    assert _at(encrypted, f"{key}/xenc:EncryptionMethod/ds:DigestMethod", "Algorithm") == SHA1
    named = _at(encrypted, f"{key}/ds:KeyInfo/ds:X509Data/ds:X509Certificate") or ""
    assert base64.b64decode(named) == sp_cert.public_bytes(serialization.Encoding.DER)


def test_cipher_value_is_iv_ciphertext_tag(sp_cert: x509.Certificate) -> None:
    assertion = _assertion()
    plaintext = etree.tostring(assertion, encoding="UTF-8", with_tail=False)

    first, second = (_payload(encrypt_assertion(assertion, sp_cert)) for _ in range(2))

    # XML Enc 1.1 §5.2.4: 12 bytes IV, the ciphertext (as long as the plaintext), 16 bytes tag.
    assert len(first) == 12 + len(plaintext) + 16
    assert first[:12] != second[:12]


def test_encrypts_assertions_only(sp_cert: x509.Certificate) -> None:
    with pytest.raises(ValueError, match="saml:Assertion"):
        encrypt_assertion(etree.Element(qname(SAML, "NameID")), sp_cert)


def test_refuses_a_certificate_without_an_rsa_key() -> None:
    ec_cert = _certificate(ec.generate_private_key(ec.SECP256R1()))

    with pytest.raises(ValueError, match="RSA"):
        encrypt_assertion(_assertion(), ec_cert)


# --- independent decryption of our output -------------------------------------------------------


def test_round_trip(sp_key: rsa.RSAPrivateKey, sp_cert: x509.Certificate) -> None:
    assertion = _assertion()

    decrypted = decrypt_element(encrypt_assertion(assertion, sp_cert), sp_key)

    assert _c14n(decrypted) == _c14n(assertion)
    # xs was declared on the Response only; the plaintext must carry it to parse standalone.
    value = decrypted.find(f".//{qname(SAML, 'AttributeValue')}")
    assert value is not None
    assert value.nsmap["xs"] == XS


def test_xmlsec1_decrypts_our_output(
    tmp_path: Path, xmlsec1: str, sp_key_pem: Path, sp_cert: x509.Certificate
) -> None:
    assertion = _assertion()
    document = tmp_path / "encrypted.xml"
    document.write_bytes(_in_response(encrypt_assertion(assertion, sp_cert)))

    decrypted = _run(xmlsec1, "--decrypt", "--privkey-pem", sp_key_pem, document)

    assert _c14n(_find_assertion(decrypted)) == _c14n(assertion)


def test_pysaml2_decrypts_our_output(
    xmlsec1: str, sp_key_pem: Path, sp_cert: x509.Certificate
) -> None:
    assertion = _assertion()
    backend = CryptoBackendXmlSec1(xmlsec1)

    decrypted = backend.decrypt(
        _in_response(encrypt_assertion(assertion, sp_cert)), str(sp_key_pem)
    )

    found = _find_assertion(decrypted.encode())
    assert _c14n(found) == _c14n(assertion)
    parsed = assertion_from_string(etree.tostring(found, encoding="unicode"))
    assert parsed.attribute_statement[0].attribute[0].attribute_value[0].text == "Müller"


def test_signature_verifies_after_round_trips(
    tmp_path: Path,
    xmlsec1: str,
    sp_key: rsa.RSAPrivateKey,
    sp_key_pem: Path,
    sp_cert: x509.Certificate,
    idp_key: rsa.RSAPrivateKey,
) -> None:
    idp_pem = tmp_path / "idp-public.pem"
    idp_pem.write_bytes(
        idp_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    encrypted = encrypt_assertion(_signed_assertion(idp_key), sp_cert)
    by_us = tmp_path / "by-us.xml"
    by_us.write_bytes(etree.tostring(decrypt_element(encrypted, sp_key)))
    by_xmlsec1 = tmp_path / "by-xmlsec1.xml"
    (tmp_path / "encrypted.xml").write_bytes(_in_response(encrypted))
    by_xmlsec1.write_bytes(
        _run(xmlsec1, "--decrypt", "--privkey-pem", sp_key_pem, tmp_path / "encrypted.xml")
    )

    for document in (by_us, by_xmlsec1):
        _run(xmlsec1, "--verify", "--pubkey-pem", idp_pem, *ASSERTION_ID_ATTR, document)
    # The control: the check above is a real one, a changed surname fails it.
    forged = tmp_path / "forged.xml"
    forged.write_bytes(by_us.read_bytes().replace(b'Name="surname"', b'Name="givenName"'))
    with pytest.raises(AssertionError, match="signature"):
        _run(xmlsec1, "--verify", "--pubkey-pem", idp_pem, *ASSERTION_ID_ATTR, forged)


# --- independent encryption, our decryption -----------------------------------------------------


def _xmlsec1_template(data_algorithm: str, key_algorithm: str) -> bytes:
    data = etree.Element(qname(XENC, "EncryptedData"), nsmap={"xenc": XENC}, Type=ELEMENT)
    etree.SubElement(data, qname(XENC, "EncryptionMethod"), Algorithm=data_algorithm)
    key_info = etree.SubElement(data, qname(DS, "KeyInfo"), nsmap={"ds": DS})
    key = etree.SubElement(key_info, qname(XENC, "EncryptedKey"))
    etree.SubElement(key, qname(XENC, "EncryptionMethod"), Algorithm=key_algorithm)
    for parent in (key, data):
        etree.SubElement(
            etree.SubElement(parent, qname(XENC, "CipherData")), qname(XENC, "CipherValue")
        )
    return etree.tostring(data)


def _xmlsec1_encrypted(
    tmp_path: Path, xmlsec1: str, cert_pem: Path, data_algorithm: str, key_algorithm: str
) -> etree._Element:
    """An EncryptedAssertion the way pysaml2's IdP makes one: xmlsec1 on a template."""
    template = tmp_path / "template.xml"
    template.write_bytes(_xmlsec1_template(data_algorithm, key_algorithm))
    # The Response alone declares saml, xs and xsi; xmlsec1 leaves them out of the cleartext.
    assertion = _assertion()
    response = assertion.getparent()
    assert response is not None
    etree.SubElement(response, qname(SAML, "EncryptedAssertion")).append(assertion)
    plain = tmp_path / "plain.xml"
    plain.write_bytes(etree.tostring(response))
    session_key = "aes-128" if "128" in data_algorithm else "aes-256"
    xpath = "/samlp:Response/saml:EncryptedAssertion/saml:Assertion"
    output = _run(
        xmlsec1, "--encrypt", "--pubkey-cert-pem", cert_pem, "--session-key", session_key,
        "--xml-data", plain, "--node-xpath", xpath, template,
    )  # fmt: skip
    encrypted = etree.fromstring(output).find(qname(SAML, "EncryptedAssertion"))
    assert encrypted is not None
    return encrypted


@pytest.mark.parametrize("algorithm", [AES256_GCM, AES128_GCM, AES256_CBC, AES128_CBC])
def test_decrypts_what_xmlsec1_encrypted(
    tmp_path: Path,
    xmlsec1: str,
    sp_key: rsa.RSAPrivateKey,
    sp_cert_pem: Path,
    algorithm: str,
) -> None:
    encrypted = _xmlsec1_encrypted(tmp_path, xmlsec1, sp_cert_pem, algorithm, RSA_OAEP_MGF1P)
    assert encrypted.find(f".//{qname(SAML, 'Assertion')}") is None

    decrypted = decrypt_element(encrypted, sp_key)

    assert _c14n(decrypted) == _c14n(_assertion())
    value = decrypted.find(f".//{qname(SAML, 'AttributeValue')}")
    assert value is not None
    assert value.nsmap["xs"] == XS


def test_refuses_pkcs1_v15_key_transport_from_xmlsec1(
    tmp_path: Path, xmlsec1: str, sp_key: rsa.RSAPrivateKey, sp_cert_pem: Path
) -> None:
    encrypted = _xmlsec1_encrypted(tmp_path, xmlsec1, sp_cert_pem, AES256_GCM, XENC + "rsa-1_5")

    with pytest.raises(DecryptionFailed, match="unsupported key transport"):
        decrypt_element(encrypted, sp_key)


# --- a small encryptor straight from the spec, for what xmlsec1 cannot make ---------------------


@dataclass(frozen=True)
class Transport:
    algorithm: str = RSA_OAEP_MGF1P
    digest: str | None = None
    mgf: str | None = None
    label: bytes | None = None


_HASHES: dict[str | None, type[hashes.HashAlgorithm]] = {
    None: hashes.SHA1,
    SHA1: hashes.SHA1,
    MGF1_SHA1: hashes.SHA1,
    SHA256: hashes.SHA256,
    MGF1_SHA256: hashes.SHA256,
}


def _wrap_key(content_key: bytes, public_key: rsa.RSAPublicKey, transport: Transport) -> bytes:
    mgf = hashes.SHA1 if transport.algorithm == RSA_OAEP_MGF1P else _HASHES[transport.mgf]
    oaep = padding.OAEP(padding.MGF1(mgf()), _HASHES[transport.digest](), transport.label)
    return public_key.encrypt(content_key, oaep)


def _cbc_padded(plaintext: bytes) -> bytes:
    # XML Enc 1.1 §5.2: the pad bytes before the length byte are arbitrary, so make them random.
    pad = 16 - len(plaintext) % 16
    return plaintext + os.urandom(pad - 1) + bytes([pad])


def _seal(algorithm: str, key: bytes, plaintext: bytes, *, padded: bytes | None = None) -> bytes:
    if algorithm in (AES128_GCM, AES256_GCM):
        iv = os.urandom(12)
        return iv + AESGCM(key).encrypt(iv, plaintext, None)
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(padded or _cbc_padded(plaintext)) + encryptor.finalize()


def _cipher_data(parent: etree._Element, value: bytes) -> None:
    cipher_data = etree.SubElement(parent, qname(XENC, "CipherData"))
    etree.SubElement(cipher_data, qname(XENC, "CipherValue")).text = base64.b64encode(
        value
    ).decode()


def _encrypted_key(
    content_key: bytes, public_key: rsa.RSAPublicKey, transport: Transport
) -> etree._Element:
    key = etree.Element(qname(XENC, "EncryptedKey"), nsmap={"xenc11": XENC11})
    method = etree.SubElement(key, qname(XENC, "EncryptionMethod"), Algorithm=transport.algorithm)
    if transport.label is not None:
        etree.SubElement(method, qname(XENC, "OAEPparams")).text = base64.b64encode(
            transport.label
        ).decode()
    if transport.digest is not None:
        etree.SubElement(method, qname(DS, "DigestMethod"), Algorithm=transport.digest)
    if transport.mgf is not None:
        etree.SubElement(method, qname(XENC11, "MGF"), Algorithm=transport.mgf)
    _cipher_data(key, _wrap_key(content_key, public_key, transport))
    return key


def _hand_encrypted(
    plaintext: bytes,
    recipients: list[rsa.RSAPublicKey],
    *,
    algorithm: str = AES256_GCM,
    transport: Transport = Transport(),
    as_siblings: bool = False,
    padded: bytes | None = None,
) -> etree._Element:
    content_key = os.urandom(16 if "128" in algorithm else 32)
    nsmap = {"saml": SAML, "xenc": XENC, "ds": DS}
    container = etree.Element(qname(SAML, "EncryptedID"), nsmap=nsmap)
    data = etree.SubElement(container, qname(XENC, "EncryptedData"), Type=ELEMENT)
    etree.SubElement(data, qname(XENC, "EncryptionMethod"), Algorithm=algorithm)
    keys = [_encrypted_key(content_key, recipient, transport) for recipient in recipients]
    if as_siblings:  # SAML core §6.1, as in a LogoutRequest's EncryptedID
        container.extend(keys)
    else:
        etree.SubElement(data, qname(DS, "KeyInfo")).extend(keys)
    _cipher_data(data, _seal(algorithm, content_key, plaintext, padded=padded))
    return container


NAME_ID = f'<saml:NameID xmlns:saml="{SAML}">pseudonym-4711</saml:NameID>'.encode()


@pytest.mark.parametrize(
    "transport",
    [
        Transport(RSA_OAEP_MGF1P),
        Transport(RSA_OAEP_MGF1P, SHA256),
        Transport(RSA_OAEP),
        Transport(RSA_OAEP, SHA1, MGF1_SHA1),
        Transport(RSA_OAEP, SHA256, MGF1_SHA256),
        Transport(RSA_OAEP, SHA256, MGF1_SHA1, label=b"saml"),
    ],
    ids=lambda transport: "-".join(
        str(part).rsplit("#", 1)[-1] for part in vars(transport).values() if part
    ),
)
@pytest.mark.parametrize("as_siblings", [False, True], ids=["in-key-info", "sibling"])
def test_decrypts_each_key_transport(
    sp_key: rsa.RSAPrivateKey, transport: Transport, as_siblings: bool
) -> None:
    encrypted = _hand_encrypted(
        NAME_ID, [sp_key.public_key()], transport=transport, as_siblings=as_siblings
    )

    assert decrypt_element(encrypted, sp_key).text == "pseudonym-4711"


@pytest.mark.parametrize("algorithm", [AES128_GCM, AES128_CBC, AES256_CBC])
def test_decrypts_each_data_algorithm(sp_key: rsa.RSAPrivateKey, algorithm: str) -> None:
    encrypted = _hand_encrypted(NAME_ID, [sp_key.public_key()], algorithm=algorithm)

    assert decrypt_element(encrypted, sp_key).text == "pseudonym-4711"


def test_finds_our_key_among_other_recipients(
    sp_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    recipients = [other_key.public_key(), sp_key.public_key()]

    for as_siblings in (False, True):
        encrypted = _hand_encrypted(NAME_ID, recipients, as_siblings=as_siblings)
        assert decrypt_element(encrypted, sp_key).text == "pseudonym-4711"


def test_a_default_namespace_in_context_applies(sp_key: rsa.RSAPrivateKey) -> None:
    encrypted = _hand_encrypted(b"<NameID>pseudonym-4711</NameID>", [sp_key.public_key()])
    nsmap = {None: SAML, "samlp": SAMLP}
    context = etree.Element(qname(SAMLP, "LogoutRequest"), nsmap=nsmap)  # type: ignore[arg-type]
    context.append(encrypted)

    decrypted = decrypt_element(encrypted, sp_key)

    assert decrypted.tag == qname(SAML, "NameID")


def test_accepts_the_encrypted_data_itself(sp_key: rsa.RSAPrivateKey) -> None:
    data = _hand_encrypted(NAME_ID, [sp_key.public_key()])[0]

    assert decrypt_element(data, sp_key).text == "pseudonym-4711"


# --- what must fail -----------------------------------------------------------------------------


def _data_cipher_value(encrypted: etree._Element) -> etree._Element:
    path = (
        f"{qname(XENC, 'EncryptedData')}/{qname(XENC, 'CipherData')}/{qname(XENC, 'CipherValue')}"
    )
    value = encrypted.find(path)
    assert value is not None
    return value


def _payload(encrypted: etree._Element) -> bytes:
    return base64.b64decode(_data_cipher_value(encrypted).text or "")


def _flip(value: etree._Element, position: int) -> None:
    raw = bytearray(base64.b64decode(value.text or ""))
    raw[position] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("position", [0, 20, -1], ids=["iv", "ciphertext", "tag"])
def test_tampering_is_detected(
    sp_key: rsa.RSAPrivateKey, sp_cert: x509.Certificate, position: int
) -> None:
    encrypted = encrypt_assertion(_assertion(), sp_cert)
    _flip(_data_cipher_value(encrypted), position)

    with pytest.raises(DecryptionFailed, match=f"^{FAILED}$"):
        decrypt_element(encrypted, sp_key)


def test_a_tampered_key_fails_like_a_tampered_ciphertext(
    sp_key: rsa.RSAPrivateKey, sp_cert: x509.Certificate
) -> None:
    encrypted = encrypt_assertion(_assertion(), sp_cert)
    key_value = encrypted.find(f".//{qname(XENC, 'EncryptedKey')}//{qname(XENC, 'CipherValue')}")
    assert key_value is not None
    _flip(key_value, 5)

    # One answer for both, else the difference is the oracle of Manger's attack on OAEP.
    with pytest.raises(DecryptionFailed, match=f"^{FAILED}$"):
        decrypt_element(encrypted, sp_key)


def test_the_wrong_private_key_fails(
    other_key: rsa.RSAPrivateKey, sp_cert: x509.Certificate
) -> None:
    with pytest.raises(DecryptionFailed, match=f"^{FAILED}$"):
        decrypt_element(encrypt_assertion(_assertion(), sp_cert), other_key)


HOSTILE = [
    b'<!DOCTYPE n [<!ENTITY e "x">]><saml:NameID xmlns:saml="'
    + SAML.encode()
    + b'">&e;</saml:NameID>',
    b'<!DOCTYPE n SYSTEM "file:///etc/passwd"><n/>',
]


@pytest.mark.parametrize("plaintext", HOSTILE, ids=["internal-entity", "external-dtd"])
def test_a_decrypted_dtd_is_refused(sp_key: rsa.RSAPrivateKey, plaintext: bytes) -> None:
    encrypted = _hand_encrypted(plaintext, [sp_key.public_key()])

    with pytest.raises(DecryptionFailed, match=r"^decrypted content refused"):
        decrypt_element(encrypted, sp_key)


def _cbc_case(name: str, key: rsa.RSAPrivateKey, other: rsa.RSAPrivateKey) -> etree._Element:
    public = key.public_key()
    block = os.urandom(15)
    cases = {
        "pad-zero": lambda: _hand_encrypted(
            b"", [public], algorithm=AES256_CBC, padded=block + b"\0"
        ),
        "pad-17": lambda: _hand_encrypted(
            b"", [public], algorithm=AES256_CBC, padded=block + b"\x11"
        ),
        "not-xml": lambda: _hand_encrypted(b"<unclosed>", [public], algorithm=AES256_CBC),
        "dtd": lambda: _hand_encrypted(HOSTILE[0], [public], algorithm=AES256_CBC),
        "wrong-key": lambda: _hand_encrypted(NAME_ID, [other.public_key()], algorithm=AES256_CBC),
    }
    return cases[name]()


@pytest.mark.parametrize("case", ["pad-zero", "pad-17", "not-xml", "dtd", "wrong-key", "length"])
def test_every_cbc_failure_gives_one_message(
    sp_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey, case: str
) -> None:
    if case == "length":
        encrypted = _hand_encrypted(NAME_ID, [sp_key.public_key()], algorithm=AES128_CBC)
        value = _data_cipher_value(encrypted)
        value.text = base64.b64encode(base64.b64decode(value.text or "")[:-1]).decode()
    else:
        encrypted = _cbc_case(case, sp_key, other_key)

    # Jager/Somorovsky 2011: any difference among these answers is a CBC decryption oracle.
    with pytest.raises(DecryptionFailed, match=f"^{FAILED}$"):
        decrypt_element(encrypted, sp_key)


def _edit(encrypted: etree._Element, path: str, attribute: str, value: str) -> None:
    found = encrypted.find(path, {"xenc": XENC, "ds": DS})
    assert found is not None
    found.set(attribute, value)


@pytest.mark.parametrize(
    ("path", "attribute", "value", "reason"),
    [
        ("xenc:EncryptedData", "Type", XENC + "Content", "Type Element"),
        ("xenc:EncryptedData/xenc:EncryptionMethod", "Algorithm", XENC + "tripledes-cbc", "data"),
        (".//xenc:EncryptedKey/xenc:EncryptionMethod", "Algorithm", XENC + "rsa-1_5", "transport"),
        (".//ds:DigestMethod", "Algorithm", "http://www.w3.org/2001/04/xmldsig-more#md5", "digest"),
    ],
)
def test_unsupported_choices_are_named(
    sp_key: rsa.RSAPrivateKey, path: str, attribute: str, value: str, reason: str
) -> None:
    encrypted = _hand_encrypted(NAME_ID, [sp_key.public_key()], transport=Transport(digest=SHA1))
    _edit(encrypted, path, attribute, value)

    with pytest.raises(DecryptionFailed, match=reason):
        decrypt_element(encrypted, sp_key)


def test_a_cipher_reference_is_not_fetched(sp_key: rsa.RSAPrivateKey) -> None:
    encrypted = _hand_encrypted(NAME_ID, [sp_key.public_key()])
    cipher_data = encrypted.find(f"{qname(XENC, 'EncryptedData')}/{qname(XENC, 'CipherData')}")
    assert cipher_data is not None
    cipher_data.clear()
    etree.SubElement(cipher_data, qname(XENC, "CipherReference"), URI="http://attacker.example/")

    with pytest.raises(DecryptionFailed, match="inline CipherValue"):
        decrypt_element(encrypted, sp_key)


def test_too_many_or_no_encrypted_keys(sp_key: rsa.RSAPrivateKey) -> None:
    crowd = _hand_encrypted(NAME_ID, [sp_key.public_key()] * 5, as_siblings=True)
    with pytest.raises(DecryptionFailed, match="too many"):
        decrypt_element(crowd, sp_key)

    lonely = _hand_encrypted(NAME_ID, [], as_siblings=True)
    with pytest.raises(DecryptionFailed, match="no xenc:EncryptedKey"):
        decrypt_element(lonely, sp_key)


def test_malformed_base64_is_refused(sp_key: rsa.RSAPrivateKey) -> None:
    encrypted = _hand_encrypted(NAME_ID, [sp_key.public_key()])
    _data_cipher_value(encrypted).text = "not*base64"

    with pytest.raises(DecryptionFailed, match="base64"):
        decrypt_element(encrypted, sp_key)


def _twice_encrypted_data(encrypted: etree._Element) -> None:
    encrypted.append(etree.fromstring(etree.tostring(encrypted[0])))


def _no_encryption_method(encrypted: etree._Element) -> None:
    encrypted[0].remove(encrypted[0][0])


def _short_ciphertext(encrypted: etree._Element) -> None:
    _data_cipher_value(encrypted).text = base64.b64encode(os.urandom(27)).decode()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_twice_encrypted_data, "exactly one xenc:EncryptedData"),
        (_no_encryption_method, "names no EncryptionMethod"),
        (_short_ciphertext, "too short"),
    ],
)
def test_malformed_structure_is_named(
    sp_key: rsa.RSAPrivateKey, damage: Callable[[etree._Element], None], reason: str
) -> None:
    encrypted = _hand_encrypted(NAME_ID, [sp_key.public_key()])
    damage(encrypted)

    with pytest.raises(DecryptionFailed, match=reason):
        decrypt_element(encrypted, sp_key)


def test_cleartext_must_be_one_element(sp_key: rsa.RSAPrivateKey) -> None:
    encrypted = _hand_encrypted(NAME_ID + NAME_ID, [sp_key.public_key()])

    with pytest.raises(DecryptionFailed, match="exactly one element"):
        decrypt_element(encrypted, sp_key)
